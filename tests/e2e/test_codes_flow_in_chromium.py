"""The whole codes flow in headless Chromium (Debian's chromium through Playwright), as a
person walks it: postcode → age → PIN read from the SMS backend → link from the mail that
a real SMTP server (aiosmtpd) received → codes from the next mail → book → check → rebook
→ cancel; and a couple with two codes. Every page is scanned with axe-core (no serious
or critical violation, in German and English), must not scroll sideways at 320 CSS pixels
(what 400 % zoom leaves of a 1280-pixel window, WCAG 1.4.10), and the booking is done with
the keyboard alone.

With SCREENSHOTS=1 the German walk also saves the main pages to docs/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone

from impftermin.booking.models import AppointmentPair, PairStatus, Slot
from tests.e2e.walk import CODE_RE, SCREENSHOTS, Walk, screenshots_wanted
from tests.factories import at, make_postcode, make_slot
from tests.mail import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres]


class CodesWalk(Walk):
    """A walk of the codes flow: the PIN comes from the SMS backend's files."""

    def sms_pin(self) -> str:
        run_worker()
        newest = sorted(self.outbox.glob("*-sms*.txt"))[-1].read_text(encoding="utf-8")
        return re.search(r"\b(\d{6})\b", newest).group(1)

    def get_codes(self, *, email: str, labels: dict, shots: bool = False) -> list[str]:
        page = self.page
        self.goto("/")
        page.get_by_label(labels["postcode"]).first.fill("48143")
        self.click(labels["continue"], "1-eligibility" if shots else None)
        page.get_by_label(labels["birth_date"]).fill("15.03.1950")
        self.click(labels["continue"], "2-pin-request" if shots else None)
        page.get_by_label(labels["mobile"]).fill("0151 23456789")
        page.get_by_label(labels["email"]).fill(email)
        self.click(labels["send_pin"], "3-pin-enter" if shots else None)
        page.get_by_label(labels["pin"]).fill(self.sms_pin())
        self.click(labels["confirm_pin"])
        link = re.search(r"https?://\S+", self.mail(labels["verify_subject"]).get_content())
        page.goto(link.group(0))
        self.check_page()
        self.click(labels["confirm_email"], "4-email-confirmed" if shots else None)
        return CODE_RE.findall(self.mail(labels["codes_subject"]).get_content())


LABELS = {
    "de": {
        "postcode": "Postleitzahl Ihres Wohnorts",
        "continue": "Weiter",
        "birth_date": "Geburtsdatum",
        "mobile": "Mobilnummer",
        "email": "E-Mail-Adresse",
        "send_pin": "PIN per SMS senden",
        "pin": "PIN aus der SMS",
        "confirm_pin": "PIN bestätigen",
        "verify_subject": "E-Mail-Adresse",
        "confirm_email": "E-Mail-Adresse bestätigen",
        "codes_subject": "Vermittlungscodes",
        "book_with_code": "Mit dem Code einen Termin buchen",
        "code": "Vermittlungscode",
        "more_people": "Für weitere Personen gemeinsam buchen",
        "code_2": "Vermittlungscode Person 2",
        "show_slots": "Freie Termine anzeigen",
        "book": "Termin verbindlich buchen",
        "booked": "Ihre Termine sind gebucht",
        "confirmation_subject": "Ihre Impftermine",
        "check": "Termin prüfen",
        "show": "Termin anzeigen",
        "rebook": "Termin verschieben",
        "rebook_button": "Termin verbindlich umbuchen",
        "moved": "Ihre Termine sind verschoben",
        "cancel": "Termin stornieren",
        "cancel_yes": "Ja, Termine stornieren",
        "cancelled": "Ihre Termine sind storniert",
        "moved_subject": "Ihre Impftermine wurden verschoben",
        "cancelled_subject": "Ihre Impftermine sind storniert",
        "standby": "Auf die Warteliste",
        "standby_title": "Warteliste",
        "offer_subject": "Ein Impftermin ist für Sie frei",
    },
    "en": {
        "postcode": "Postcode of your home",
        "continue": "Continue",
        "birth_date": "Date of birth",
        "mobile": "Mobile number",
        "email": "E-mail address",
        "send_pin": "Send PIN by text message",
        "pin": "PIN from the text message",
        "confirm_pin": "Confirm PIN",
        "verify_subject": "e-mail address",
        "confirm_email": "Confirm e-mail address",
        "codes_subject": "booking codes",
        "book_with_code": "Book an appointment with the code",
        "code": "Booking code",
        "more_people": "Book together for more people",
        "code_2": "Booking code of person 2",
        "show_slots": "Show free appointments",
        "book": "Book the appointment (binding)",
        "booked": "Your appointments are booked",
        "confirmation_subject": "Your vaccination appointments",
        "check": "Check appointment",
        "show": "Show appointment",
        "rebook": "Move appointment",
        "rebook_button": "Move the appointment (binding)",
        "moved": "Your appointments have been moved",
        "cancel": "Cancel appointment",
        "cancel_yes": "Yes, cancel the appointments",
        "cancelled": "Your appointments are cancelled",
        "moved_subject": "Your vaccination appointments have been moved",
        "cancelled_subject": "Your vaccination appointments are cancelled",
        "standby": "Join the standby list",
        "standby_title": "Standby list",
        "offer_subject": "A vaccination appointment is free for you",
    },
}


@pytest.fixture
def site(world, live_server, settings, smtp, tmp_path):
    """The live server with the SMS file backend and the real SMTP server; two days with
    free first-dose slots and second-dose slots inside the interval. The browser solves the
    proof of work (issue 9) on each PIN request and booking, as a person's would."""
    settings.ALTCHA_VERIFICATION_ENABLED = True
    settings.SITE_URL = live_server.url
    settings.SMS_BACKEND = "impftermin.notifications.transports.ConsoleFileSmsBackend"
    settings.OUTBOX_DIR = tmp_path
    smtp.start()
    make_postcode("48143", world.district)
    slots = {
        "first": make_slot(world.centre, world.biontech, at(5, 9), capacity=2),
        "later": make_slot(world.centre, world.biontech, at(6, 11), capacity=2),
        "second": make_slot(world.centre, world.biontech, at(27, 9), capacity=4, released=False),
        "second_later": make_slot(
            world.centre, world.biontech, at(28, 11), capacity=4, released=False
        ),
    }
    return world, live_server.url, tmp_path, slots


def open_walk(browser, site, smtp, language, shots=False):
    _world, url, outbox, _slots = site
    context = browser.new_context(locale="de-DE" if language == "de" else "en-GB")
    page = context.new_page()
    return CodesWalk(page, url, language, outbox, smtp, shots), context


@pytest.mark.parametrize("language", ["de", "en"])
def test_R2_R10_whole_flow_book_check_rebook_cancel(browser, site, smtp, language):
    world, _url, _outbox, slots = site
    shots = screenshots_wanted(language)
    walk, context = open_walk(browser, site, smtp, language, shots)
    labels, page = LABELS[language], walk.page
    try:
        walk.goto("/")
        if shots:
            page.screenshot(path=SCREENSHOTS / "0-start.png", full_page=True)
        # a wrong postcode: the error summary gets the focus and links to the field
        page.get_by_label(labels["postcode"]).first.fill("4814")
        walk.click(labels["continue"], "0-error-summary" if shots else None)
        summary = page.locator("#error-summary")
        assert summary.evaluate("element => element === document.activeElement")
        summary.get_by_role("link").click()
        assert page.evaluate("document.activeElement.id") == "id_postcode"
        codes = walk.get_codes(email="person@example.org", labels=labels, shots=shots)
        assert len(codes) == 2

        # book, with the keyboard alone: the first free time, then the submit button
        walk.follow(
            page.get_by_role("link", name=labels["book_with_code"]),
            "5-book-with-code" if shots else None,
        )
        page.get_by_label(labels["code"], exact=True).fill(codes[0].lower())
        page.get_by_label(labels["postcode"]).fill("48143")
        walk.click(labels["show_slots"], "6-choose-time" if shots else None)
        radio = page.locator("input[name=option]").first
        radio.focus()
        page.keyboard.press("Space")
        assert radio.is_checked()
        page.get_by_role("button", name=labels["book"]).focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        walk.check_page("7-confirmation" if shots else None)
        assert page.get_by_role("heading", level=1).inner_text() == labels["booked"]
        confirmation = walk.mail(labels["confirmation_subject"])
        calendar = next(p for p in confirmation.iter_attachments())
        assert calendar.get_content_type() == "text/calendar"
        assert world.centre.street in confirmation.get_body().get_content()

        # check with the second code, then rebook to the later day
        walk.follow(page.get_by_role("navigation").get_by_role("link", name=labels["check"]))
        page.get_by_label(labels["code"]).fill(codes[1])
        walk.click(labels["show"], "8-booking" if shots else None)
        walk.click(labels["rebook"])
        later_day = timezone.localdate(slots["later"].start).isoformat()
        walk.follow(page.locator(f'a[href="?tag={later_day}"]'))
        page.locator(f'input[value="{slots["later"].pk}-{slots["second_later"].pk}"]').check()
        walk.click(labels["rebook_button"])
        assert page.get_by_role("heading", level=1).inner_text() == labels["moved"]
        pair = AppointmentPair.objects.get(status=PairStatus.BOOKED)
        assert {a.slot_id for a in pair.appointments.all()} == {
            slots["later"].pk,
            slots["second_later"].pk,
        }
        assert (
            slots["later"].start.strftime("%H:%M")
            in walk.mail(labels["moved_subject"]).get_body().get_content()
        )

        # cancel: asked once more; the seats are free at once; a mail confirms it
        walk.follow(page.get_by_role("navigation").get_by_role("link", name=labels["check"]))
        page.get_by_label(labels["code"]).fill(codes[0])
        walk.click(labels["show"])
        walk.follow(page.get_by_role("link", name=labels["cancel"]), "9-cancel" if shots else None)
        walk.click(labels["cancel_yes"])
        assert page.get_by_role("heading", level=1).inner_text() == labels["cancelled"]
        assert set(Slot.objects.values_list("booked", flat=True)) == {0}
        cancellation = walk.mail(labels["cancelled_subject"])
        ics = next(cancellation.iter_attachments()).get_content()
        assert "METHOD:CANCEL" in (ics.decode() if isinstance(ics, bytes) else ics)
        # link, codes, confirmation, rebook, cancellation: one each, none twice
        assert len(smtp.inbox.envelopes) == 5
    finally:
        context.close()
    assert walk.problems == []


def test_R7_couple_books_side_by_side_with_two_codes(browser, site, smtp):
    _world, _url, _outbox, slots = site
    walk, context = open_walk(browser, site, smtp, "de")
    labels, page = LABELS["de"], walk.page
    try:
        mine = walk.get_codes(email="person@example.org", labels=labels)[0]
        theirs = walk.get_codes(email="partner@example.org", labels=labels)[1]
        walk.goto("/termin/buchen/")
        page.get_by_label(labels["code"], exact=True).fill(mine)
        page.get_by_text(labels["more_people"]).click()
        page.get_by_label(labels["code_2"]).fill(theirs)
        page.get_by_label(labels["postcode"]).fill("48143")
        walk.click(labels["show_slots"])
        page.locator(f'input[value="{slots["first"].pk}-{slots["second"].pk}"]').check()
        walk.click(labels["book"])
        assert page.get_by_role("heading", level=1).inner_text() == labels["booked"]
        pairs = AppointmentPair.objects.filter(status=PairStatus.BOOKED)
        assert pairs.count() == 2 and len({p.party for p in pairs}) == 1
        run_worker()
        recipients = {m["to"] for m in smtp.inbox.messages() if "Impftermine" in m["subject"]}
        assert recipients == {"person@example.org", "partner@example.org"}
    finally:
        context.close()
    assert walk.problems == []


def test_without_javascript_the_pin_request_is_accepted_after_the_wait(
    browser, site, smtp, settings
):
    """Issue 9: a browser without JavaScript cannot do the proof of work; the page says how
    long to wait instead, and a form sent after that is accepted (sooner: refused). (No
    axe-core scan here: it runs as a script.)"""
    _world, url, _outbox, _slots = site
    settings.PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS = 2
    context = browser.new_context(locale="de-DE", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    labels = LABELS["de"]

    def send(name):
        with page.expect_navigation():
            page.get_by_role("button", name=name).click()

    try:
        page.goto(url + "/")
        page.get_by_label(labels["postcode"]).first.fill("48143")
        send(labels["continue"])
        page.get_by_label(labels["birth_date"]).fill("15.03.1950")
        send(labels["continue"])
        assert "frühestens 2 Sekunden" in page.content()
        page.get_by_label(labels["mobile"]).fill("0151 23456789")
        page.get_by_label(labels["email"]).fill("ohne-js@example.org")
        send(labels["send_pin"])  # at once: too soon
        assert "2 Sekunden, bevor Sie das Formular absenden" in page.content()
        page.wait_for_timeout(2_200)
        send(labels["send_pin"])
        assert page.get_by_label(labels["pin"]).count() == 1
    finally:
        context.close()


def test_the_accessibility_scan_can_fail(browser, live_server):
    """The scan above is no formality: a page with an unlabelled field and a low-contrast
    text is reported."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(live_server.url + "/healthz")
        page.set_content(
            '<html lang="de"><body><main><input type="text">'
            '<p style="color:#ccc;background:#fff">grau</p></main></body></html>'
        )
        walk = Walk(page, live_server.url, "de", Path(), None, shots=False)
        walk.check_page()
    finally:
        context.close()
    assert any("label" in problem for problem in walk.problems)
    assert any("color-contrast" in problem for problem in walk.problems)


@pytest.mark.parametrize("language", ["de", "en"])
def test_R8_standby_list_join_and_take_the_offer(browser, site, smtp, language):
    """Nothing free: join the list; a seat comes free; the offer's link books it."""
    _world, _url, _outbox, slots = site
    Slot.objects.filter(pk__in=[slots["first"].pk, slots["later"].pk]).update(booked=2)
    walk, context = open_walk(browser, site, smtp, language)
    labels, page = LABELS[language], walk.page
    try:
        code = walk.get_codes(email="waiting@example.org", labels=labels)[0]
        walk.goto("/termin/buchen/")
        page.get_by_label(labels["code"], exact=True).fill(code)
        page.get_by_label(labels["postcode"]).fill("48143")
        walk.click(labels["show_slots"])
        walk.click(labels["standby"])
        assert page.get_by_role("heading", level=1).inner_text() == labels["standby_title"]
        Slot.objects.filter(pk=slots["first"].pk).update(booked=1)  # a seat came free
        from impftermin.codes.standby import standby_offers_make

        assert standby_offers_make() == 1
        offer = walk.mail(labels["offer_subject"]).get_body().get_content()
        page.goto(re.search(r"https?://\S+", offer).group(0))
        walk.check_page()
        walk.click(labels["book"])
        assert page.get_by_role("heading", level=1).inner_text() == labels["booked"]
        assert AppointmentPair.objects.filter(status=PairStatus.BOOKED).count() == 1
    finally:
        context.close()
    assert walk.problems == []
