"""The assignment-mode flow (issue 5, R13 to R25) in headless Chromium, as a person walks
it: home → postcode → register (person, address, centre, vaccine, e-mail, password) →
Vorgangskennung → the assignment run → its e-mail at a real SMTP server (aiosmtpd) → log
out, log in with Vorgangskennung and password → the appointment document (a real PDF,
read with pypdf) → move the pair → cancel back into the pool → assigned again → "Sofort"
→ new password by e-mail link → delete. And a phone registration without e-mail: its
letter in the daily print batch (R17), and no online log-in (R21).

Every page is scanned with axe-core and checked for reflow at 320 CSS pixels (see
tests/e2e/walk.py). With SCREENSHOTS=1 the German walk saves the main pages to
docs/screenshots/ (11 to 14)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.utils import timezone, translation
from pypdf import PdfReader

from impftermin.booking.messages import appointment_line, when
from impftermin.booking.models import AppointmentPair, PairStatus, Slot
from impftermin.core import identifiers
from impftermin.registrations.letters import print_batch_make
from impftermin.registrations.models import Registration, RegistrationStatus
from impftermin.registrations.services import registrations_assign
from tests.e2e.walk import CODE_RE, Walk, screenshots_wanted
from tests.factories import at, make_slot
from tests.mail import run_worker
from tests.registrations.helpers import PASSWORD, register

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres]

NEW_PASSWORD = "ein-neues-Passwort-2021"

LABELS = {
    "de": {
        "home_postcode": "Postleitzahl Ihres Wohnorts",
        "continue": "Weiter",
        "register_link": "Registrieren",
        "postcode": "Postleitzahl",
        "birth_date": "Geburtsdatum",
        "first_name": "Vorname",
        "last_name": "Nachname",
        "street": "Straße und Hausnummer",
        "city": "Ort",
        "main_residence": "Hauptwohnsitz",
        "email": "E-Mail-Adresse",
        "password": "Passwort",
        "password_again": "Passwort wiederholen",
        "register": "Verbindlich registrieren",
        "registered": "Sie sind registriert",
        "to_account": "Zu Ihrer Registrierung",
        "account": "Ihre Registrierung",
        "assigned_subject": "Ihre Impftermine",
        "assigned_intro": "Ihnen wurden diese Impftermine zugewiesen",
        "manage_by_login": "Mit Ihrer Vorgangskennung und Ihrem Passwort",
        "log_out": "Abmelden",
        "log_in_title": "Anmelden",
        "vorgangskennung": "Vorgangskennung",
        "log_in": "Anmelden",
        "document": "Terminbestätigung herunterladen (PDF)",
        "rebook": "Termin verschieben",
        "rebook_button": "Termin verbindlich umbuchen",
        "moved": "Ihre Termine sind verschoben.",
        "moved_subject": "Ihre Impftermine wurden verschoben",
        "cancel": "Termine stornieren",
        "stays_in_pool": "Sie bleiben registriert und bekommen automatisch neue Termine zugewiesen.",
        "cancel_yes": "Ja, Termine stornieren",
        "cancelled": "Ihre Termine sind storniert.",
        "cancelled_subject": "Ihre Impftermine sind storniert",
        "no_appointments": "Noch keine Termine.",
        "short_notice": "Kurzfristigen Termin suchen",
        "short_notice_title": "Kurzfristiger Termin",
        "back_to_account": "Zurück zu Ihrer Registrierung",
        "short_notice_booked": "Sie haben einen kurzfristigen Termin.",
        "forgotten": "Passwort vergessen?",
        "send_link": "Link senden",
        "link_sent": "haben wir einen Link geschickt",
        "reset_subject": "Neues Passwort",
        "save_password": "Passwort speichern",
        "password_saved": "Ihr neues Passwort gilt.",
        "to_log_in": "Zur Anmeldung",
        "delete": "Registrierung löschen",
        "delete_yes": "Ja, Registrierung endgültig löschen",
        "deleted": "Registrierung gelöscht",
        "deleted_subject": "Ihre Registrierung ist gelöscht",
        "log_in_failed": "Vorgangskennung oder Passwort stimmen nicht.",
        "call_the_hotline": "Ihre Termine ändern Sie dann über die Hotline.",
    },
    "en": {
        "home_postcode": "Postcode of your home",
        "continue": "Continue",
        "register_link": "Register",
        "postcode": "Postcode",
        "birth_date": "Date of birth",
        "first_name": "First name",
        "last_name": "Last name",
        "street": "Street and house number",
        "city": "Town or city",
        "main_residence": "Main residence",
        "email": "E-mail address",
        "password": "Password",
        "password_again": "Repeat the password",
        "register": "Register",
        "registered": "You are registered",
        "to_account": "To your registration",
        "account": "Your registration",
        "assigned_subject": "Your vaccination appointments",
        "assigned_intro": "these vaccination appointments have been assigned to you",
        "manage_by_login": "With your registration id and your password",
        "log_out": "Log out",
        "log_in_title": "Log in",
        "vorgangskennung": "Registration id",
        "log_in": "Log in",
        "document": "Download the appointment confirmation (PDF)",
        "rebook": "Move appointment",
        "rebook_button": "Move the appointment (binding)",
        "moved": "Your appointments have been moved.",
        "moved_subject": "Your vaccination appointments have been moved",
        "cancel": "Cancel the appointments",
        "stays_in_pool": "You stay registered and will be assigned new appointments automatically.",
        "cancel_yes": "Yes, cancel the appointments",
        "cancelled": "Your appointments are cancelled.",
        "cancelled_subject": "Your vaccination appointments are cancelled",
        "no_appointments": "No appointments yet.",
        "short_notice": "Look for a short-notice appointment",
        "short_notice_title": "Short-notice appointment",
        "back_to_account": "Back to your registration",
        "short_notice_booked": "You have a short-notice appointment.",
        "forgotten": "Forgotten your password?",
        "send_link": "Send the link",
        "link_sent": "we have sent a link",
        "reset_subject": "New password",
        "save_password": "Save the password",
        "password_saved": "Your new password is in force.",
        "to_log_in": "To the log-in",
        "delete": "Delete the registration",
        "delete_yes": "Yes, delete the registration for good",
        "deleted": "Registration deleted",
        "deleted_subject": "Your registration is deleted",
        "log_in_failed": "The registration id or the password is wrong.",
        "call_the_hotline": "change your appointments through the hotline.",
    },
}


def field(page, label: str, *, exact: bool = False):
    """The form field with this label; `exact`: the whole label, in any letter case
    (translations of field names may start in lower case)."""
    if exact:
        return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*$", re.IGNORECASE))
    return page.get_by_label(label)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def shown(start, language: str) -> str:
    """A date and time as pages and mails show it, in the walk's language."""
    with translation.override(language):
        return when(start)


def line(dose: int, start, language: str) -> str:
    """An appointment's line in the documents and letters."""
    with translation.override(language):
        return appointment_line(dose, start)


def live_pair(registration: Registration) -> AppointmentPair | None:
    return AppointmentPair.objects.filter(
        holder=registration.holder, status=PairStatus.BOOKED
    ).first()


def pair_slots(registration: Registration) -> set[int]:
    return {a.slot_id for a in live_pair(registration).appointments.all()}


@pytest.fixture
def site(pool, live_server, settings, smtp, tmp_path):
    """The live server of a region in assignment mode (the `pool`), the real SMTP server,
    and free seats on two days, with second doses inside the interval. The browser solves
    the proof of work (issue 9) on registering, logging in and booking."""
    settings.ALTCHA_VERIFICATION_ENABLED = True
    settings.SITE_URL = live_server.url
    settings.OUTBOX_DIR = tmp_path
    smtp.start()
    slots = {
        "first": make_slot(pool.centre, pool.biontech, at(5, 9), capacity=2),
        "later": make_slot(pool.centre, pool.biontech, at(6, 11), capacity=2),
        "second": make_slot(pool.centre, pool.biontech, at(27, 9), capacity=4, released=False),
        "second_later": make_slot(
            pool.centre, pool.biontech, at(28, 11), capacity=4, released=False
        ),
    }
    return pool, live_server.url, tmp_path, slots


def open_walk(browser, site, smtp, language, shots=False):
    _pool, url, outbox, _slots = site
    context = browser.new_context(locale="de-DE" if language == "de" else "en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    return Walk(page, url, language, outbox, smtp, shots), context


def log_in(walk: Walk, labels: dict, vorgangskennung: str, password: str) -> None:
    page = walk.page
    assert walk.heading() == labels["log_in_title"]
    field(page, labels["vorgangskennung"]).fill(vorgangskennung)
    field(page, labels["password"], exact=True).fill(password)
    walk.click(labels["log_in"])


@pytest.mark.parametrize("language", ["de", "en"])
def test_R13_R25_registration_walk_assigned_rebooked_cancelled_deleted(
    browser, site, smtp, language
):
    pool, url, _outbox, slots = site
    shots = screenshots_wanted(language)
    walk, context = open_walk(browser, site, smtp, language, shots)
    labels, page = LABELS[language], walk.page
    try:
        # 1. home → the region registers (R13) → postcode and date of birth → details
        walk.goto("/")
        field(page, labels["home_postcode"]).first.fill("48143")
        walk.click(labels["continue"])
        walk.follow(page.get_by_role("link", name=labels["register_link"], exact=True))
        assert "/registrierung/" in page.url
        field(page, labels["postcode"]).fill("48143")
        field(page, labels["birth_date"]).fill("15.03.1950")
        walk.click(labels["continue"])
        field(page, labels["first_name"], exact=True).fill("Erika")
        field(page, labels["last_name"], exact=True).fill("Muster")
        field(page, labels["street"], exact=True).fill("Rheinstraße 12")
        field(page, labels["city"], exact=True).fill("Münster")
        field(page, labels["main_residence"]).check()
        field(page, pool.centre.name).check()
        field(page, pool.biontech.name).check()
        field(page, labels["email"]).fill("erika@example.org")
        field(page, labels["password"], exact=True).fill(PASSWORD)
        field(page, labels["password_again"], exact=True).fill(PASSWORD)
        walk.shot("11-register")
        walk.click(labels["register"], "12-registered")
        assert walk.heading() == labels["registered"]
        vorgangskennung = page.locator("[data-vorgangskennung]").inner_text().strip()
        assert CODE_RE.fullmatch(vorgangskennung)
        registration = Registration.objects.get()
        assert identifiers.grouped(registration.vorgangskennung) == vorgangskennung
        assert registration.status == RegistrationStatus.WAITING  # R14: in the register
        assert registration.language == language

        # 2. the assignment run (R16), as the scheduled task does it; the e-mail arrives
        walk.follow(page.get_by_role("link", name=labels["to_account"]))
        assert walk.heading() == labels["account"]
        assert registrations_assign() == 1
        assert pair_slots(registration) == {slots["first"].pk, slots["second"].pk}
        assigned = walk.mail(labels["assigned_subject"])
        assert assigned["subject"] == labels["assigned_subject"]
        assert assigned["to"] == "erika@example.org"
        body = assigned.get_body().get_content()
        assert labels["assigned_intro"] in body
        assert shown(slots["first"].start, language) in body
        assert shown(slots["second"].start, language) in body
        assert labels["manage_by_login"] in body and f"{url}/" in body

        # 3. log out, log in again with Vorgangskennung and password (R15, R16)
        walk.click(labels["log_out"])
        log_in(walk, labels, vorgangskennung, PASSWORD)
        assert walk.heading() == labels["account"]
        assert page.locator("[data-vorgangskennung]").inner_text().strip() == vorgangskennung
        main = page.get_by_role("main")
        for slot in (slots["first"], slots["second"]):
            assert shown(slot.start, language) in main.inner_text()
        walk.shot("13-account")
        with page.expect_download() as download:
            page.get_by_role("link", name=labels["document"]).click()
        assert download.value.suggested_filename.endswith(".pdf")
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-")
        text = pdf_text(pdf)
        for expected in [
            "Erika Muster",
            "Rheinstraße 12",
            "48143 Münster",
            vorgangskennung,
            line(1, slots["first"].start, language),
            line(2, slots["second"].start, language),
            pool.centre.name,
        ]:
            assert expected in text, expected

        # 4. move the pair to the next day (R20), the choice made with the keyboard alone
        walk.follow(page.get_by_role("link", name=labels["rebook"]))
        later_day = timezone.localdate(slots["later"].start).isoformat()
        walk.follow(page.locator(f'a[href="?tag={later_day}"]'))
        radio = page.locator(f'input[value="{slots["later"].pk}-{slots["second_later"].pk}"]')
        radio.focus()
        page.keyboard.press("Space")
        assert radio.is_checked()
        page.get_by_role("button", name=labels["rebook_button"]).focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        walk.check_page()
        assert labels["moved"] in page.get_by_role("main").inner_text()
        main_text = page.get_by_role("main").inner_text()
        assert shown(slots["later"].start, language) in main_text
        assert shown(slots["first"].start, language) not in main_text
        assert pair_slots(registration) == {slots["later"].pk, slots["second_later"].pk}
        moved = walk.mail(labels["moved_subject"]).get_body().get_content()
        assert shown(slots["later"].start, language) in moved

        # 5. cancel: the page says plainly that she stays in the pool (R22); then assigned
        # again by the next run
        walk.follow(page.get_by_role("link", name=labels["cancel"]), "14-cancel")
        assert labels["stays_in_pool"] in page.get_by_role("main").inner_text()
        walk.click(labels["cancel_yes"])
        main_text = page.get_by_role("main").inner_text()
        assert labels["cancelled"] in main_text and labels["no_appointments"] in main_text
        assert page.get_by_role("link", name=labels["document"]).count() == 0
        assert live_pair(registration) is None
        assert set(Slot.objects.values_list("booked", flat=True)) == {0}
        walk.mail(labels["cancelled_subject"])
        assert registrations_assign() == 1
        walk.goto("/konto/")
        assert page.get_by_role("link", name=labels["document"]).count() == 1
        pair = live_pair(registration)
        first = min((a for a in pair.appointments.all() if a.dose == 1), key=lambda a: a.slot.start)
        assert shown(first.slot.start, language) in page.get_by_role("main").inner_text()
        run_worker()  # the new assignment's mail

        # "Sofort" (R25): nothing free in the next days, then a seat the day after tomorrow
        walk.click(labels["short_notice"])
        assert walk.heading() == labels["short_notice_title"]
        walk.follow(page.get_by_role("link", name=labels["back_to_account"]))
        soon = make_slot(pool.centre, pool.biontech, at(2, 15), capacity=1)
        walk.click(labels["short_notice"])
        main_text = page.get_by_role("main").inner_text()
        assert labels["short_notice_booked"] in main_text
        assert shown(soon.start, language) in main_text
        assert soon.pk in pair_slots(registration)

        # a new password by e-mail link (R16), then log in with it
        walk.click(labels["log_out"])
        walk.follow(page.get_by_role("link", name=labels["forgotten"]))
        field(page, labels["vorgangskennung"]).fill(vorgangskennung)
        field(page, labels["email"]).fill("erika@example.org")
        walk.click(labels["send_link"])
        assert labels["link_sent"] in page.get_by_role("main").inner_text()
        reset = walk.mail(labels["reset_subject"]).get_body().get_content()
        page.goto(re.search(r"https?://\S+", reset).group(0))
        walk.check_page()
        field(page, labels["password"], exact=True).fill(NEW_PASSWORD)
        field(page, labels["password_again"], exact=True).fill(NEW_PASSWORD)
        walk.click(labels["save_password"])
        assert labels["password_saved"] in page.get_by_role("main").inner_text()
        walk.follow(page.get_by_role("link", name=labels["to_log_in"]))
        log_in(walk, labels, vorgangskennung, NEW_PASSWORD)
        assert walk.heading() == labels["account"]

        # 6. delete for good (R23): the data are gone, and so is the log-in
        walk.follow(page.get_by_role("link", name=labels["delete"]))
        walk.click(labels["delete_yes"])
        assert walk.heading() == labels["deleted"]
        walk.mail(labels["deleted_subject"])
        walk.goto("/konto/anmelden/")
        log_in(walk, labels, vorgangskennung, NEW_PASSWORD)
        assert walk.heading() == labels["log_in_title"]
        assert labels["log_in_failed"] in page.locator("#error-summary").inner_text()
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.DELETED
        assert (registration.first_name, registration.last_name, registration.email) == ("",) * 3
        assert (registration.street, registration.city, registration.password) == ("",) * 3
        assert set(Slot.objects.values_list("booked", flat=True)) == {0}
        # assigned, moved, cancelled, assigned again, short notice, new password, deleted
        assert len(smtp.inbox.envelopes) == 7
    finally:
        context.close()
    assert walk.problems == []


def test_R17_R21_phone_registration_gets_a_letter_and_cannot_log_in(browser, site, smtp):
    pool, _url, _outbox, slots = site
    registration = register(
        pool,
        first_name="Jürgen",
        last_name="Weiß",
        birth_date=dt.date(1939, 12, 24),
        street="Luisenplatz 1",
        channel="phone",
        password=None,
        email="",
    )
    assert registration.status == RegistrationStatus.WAITING
    assert registrations_assign() == 1
    run_worker()  # the assignment's notification task issues the letter (no e-mail)
    assert smtp.inbox.envelopes == []
    batch = print_batch_make()
    assert batch is not None and batch.letter_count == 1
    text = pdf_text(bytes(batch.pdf))
    vorgangskennung = identifiers.grouped(registration.vorgangskennung)
    for expected in [
        "Jürgen Weiß",
        "Luisenplatz 1",
        "48143 Münster",
        vorgangskennung,
        line(1, slots["first"].start, "de"),
        line(2, slots["second"].start, "de"),
        pool.centre.name,
        "Hotline 116117",
    ]:
        assert expected in text, expected

    # R21: no password, no online log-in; the page says to call the hotline
    walk, context = open_walk(browser, site, smtp, "de")
    labels, page = LABELS["de"], walk.page
    try:
        walk.goto("/konto/anmelden/")
        log_in(walk, labels, vorgangskennung, "irgendein-Passwort-2021")
        assert walk.heading() == labels["log_in_title"]
        summary = page.locator("#error-summary").inner_text()
        assert labels["log_in_failed"] in summary and labels["call_the_hotline"] in summary
    finally:
        context.close()
    assert walk.problems == []
