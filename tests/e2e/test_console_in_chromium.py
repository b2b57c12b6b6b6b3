"""The call-center console (issue 6) in headless Chromium (Debian's chromium through
Playwright), as an agent works it on the phone: log in with the password (Django's admin
log-in) and the code of the authenticator app (a real TOTP device) → codes mode: book for a
caller without e-mail, read the codes out (spelled), find the booking only by its code,
rebook it, cancel it; a couple rebooked together by their codes → assignment mode: register
a caller without e-mail, book, and find the letter in the day's print batch (a real PDF,
read with pypdf); two registrations linked into a couple get the same times side by side.

Every page is scanned with axe-core and checked for reflow at 320 CSS pixels (see
tests/e2e/walk.py), in German, and the codes booking also in English. The forms are filled
with the keyboard: the field with the focus first, Enter to submit, Space to choose a time."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone, translation
from playwright.sync_api import expect
from pypdf import PdfReader

from impftermin.audit.models import AuditEntry
from impftermin.booking.messages import appointment_line, when
from impftermin.booking.models import AppointmentPair, PairStatus, Slot
from impftermin.booking.selectors import live_pair_for
from impftermin.codes.services import code_set_for
from impftermin.core.identifiers import grouped, spelled
from impftermin.core.scheduling import SCHEDULE, scheduled_jobs_enqueue
from impftermin.notifications.models import OutboundMessage
from impftermin.registrations.models import Letter, PrintBatch, Registration, RegistrationStatus
from impftermin.staff.roles import AGENT
from impftermin.staff.services import roles_setup
from tests.e2e.staff import staff_log_in, submit_with_enter
from tests.e2e.walk import CODE_RE, Walk, screenshots_wanted
from tests.factories import at, make_postcode, make_slot
from tests.mail import run_worker
from tests.registrations.helpers import register
from tests.staff.helpers import staff_device

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres]

PASSWORD = "ein langes Passwort für das Call-Center 1"

LABELS = {
    "de": {
        # Django's admin log-in (the password) and our second step (the code)
        "username": "Benutzername",
        "password": "Passwort",
        "log_in": "Anmelden",
        "totp": "Code aus der Authenticator-App",
        "confirm": "Bestätigen",
        "console": "Call-Center",
        "home": "Zurück zum Call-Center",
        "end_call": "Anruf beenden",
        # codes mode
        "book_for_caller": "Termin für eine anrufende Person buchen",
        "postcode": "Postleitzahl des Wohnorts",
        "birth_date_1": "Geburtsdatum Person 1",
        "birth_date_2": "Geburtsdatum Person 2",
        "reason": "Anlass des Anrufs",
        "reason_booking": "Terminbuchung",
        "reason_rebook": "Umbuchung",
        "reason_cancel": "Stornierung",
        "choose_time": "Termin wählen",
        "side_by_side": "Nebeneinanderliegende Termine für 2 Personen.",
        "book": "Termin verbindlich buchen",
        "booked": "Termine gebucht: bitte die Vermittlungscodes vorlesen",
        "no_email": "Ohne E-Mail-Adresse geht keine Bestätigung hinaus",
        "next_call": "Nächster Anruf: neue Buchung",
        "find_by_code": "Buchung mit Vermittlungscode suchen",
        "code": "Vermittlungscode",
        "find": "Buchung suchen",
        "booking": "Buchung zum Vermittlungscode",
        "together_2": "Code von Person 2 (gemeinsam umbuchen)",
        "rebook": "Termin umbuchen",
        "choose_new_time": "Neuen Termin wählen",
        "rebook_button": "Termin verbindlich umbuchen",
        "rebooked": "Die Termine sind umgebucht.",
        "cancel": "Termin stornieren",
        "cancel_yes": "Ja, Termine stornieren",
        "cancelled": "Termine storniert",
    },
    "en": {
        "username": "Username",
        "password": "Password",
        "log_in": "Log in",
        "totp": "Code from the authenticator app",
        "confirm": "Confirm",
        "console": "Call center",
        "home": "Back to the call center",
        "end_call": "End the call",
        "book_for_caller": "Book an appointment for a caller",
        "postcode": "Postcode of the home",
        "birth_date_1": "Date of birth, person 1",
        "birth_date_2": "Date of birth, person 2",
        "reason": "Reason for the call",
        "reason_booking": "Booking",
        "reason_rebook": "Rebooking",
        "reason_cancel": "Cancellation",
        "choose_time": "Choose an appointment",
        "side_by_side": "Appointments side by side for 2 people.",
        "book": "Book the appointment (binding)",
        "booked": "Appointments booked: please read out the booking codes",
        "no_email": "Without an e-mail address no confirmation goes out",
        "next_call": "Next call: new booking",
        "find_by_code": "Find a booking by booking code",
        "code": "Booking code",
        "find": "Find a booking",
        "booking": "Booking for the booking code",
        "together_2": "Code of person 2 (rebook together)",
        "rebook": "Move the appointment",
        "choose_new_time": "Choose a new appointment",
        "rebook_button": "Move the appointment (binding)",
        "rebooked": "The appointments have been moved.",
        "cancel": "Cancel appointment",
        "cancel_yes": "Yes, cancel the appointments",
        "cancelled": "Appointments cancelled",
    },
}

# Assignment mode: the walks below are in German (the codes booking is walked in both).
REGISTRATION_LABELS = {
    "register_caller": "Anrufer registrieren",
    "postcode": "Postleitzahl des Wohnsitzes",
    "birth_date": "Geburtsdatum der Person, die geimpft wird",
    "continue": "Weiter",
    "details": "Angaben zur Person",
    "first_name": "Vorname",
    "last_name": "Nachname",
    "street": "Straße und Hausnummer",
    "city": "Ort",
    "main_residence": "Hauptwohnsitz",
    "email": "E-Mail-Adresse",
    "password": "Passwort",
    "language_de": "Deutsch",
    "register": "Verbindlich registrieren",
    "registered": "Registriert",
    "book_now": "Gleich einen Termin buchen",
    "choose_time": "Termin wählen",
    "book": "Termin verbindlich buchen",
    "booked": "Der Termin ist gebucht.",
    "find_registration": "Registrierung suchen (Vorgangskennung und Geburtsdatum)",
    "find_title": "Registrierung suchen",
    "vorgangskennung": "Vorgangskennung",
    "find_birth_date": "Geburtsdatum",
    "reason_couple": "Gemeinsamer Termin",
    "reason_information": "Auskunft",
    "find": "Suchen",
    "couple": "Gemeinsamen Termin verbinden",
    "partner_vorgangskennung": "Vorgangskennung der zweiten Person",
    "partner_birth_date": "Geburtsdatum der zweiten Person",
    "link": "Verbinden",
    "coupled": "Die beiden Registrierungen sind für gemeinsame Termine verbunden.",
    "end_call": "Anruf beenden",
}


# --- the agent, the sites, the walk -------------------------------------------------------


@pytest.fixture
def agent(db):
    """A call-center agent (the role's group, as `setup_roles` makes it) with a password and
    a confirmed TOTP device, as after enrolment."""
    roles_setup()
    user = get_user_model().objects.create_user("agentin", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=AGENT.group))
    staff_device(user)
    return user


@dataclass
class Site:
    url: str
    outbox: Path
    slots: dict[str, Slot]


@pytest.fixture
def codes_site(world, live_server, settings, tmp_path):
    """The live server and a region in codes mode: two days with free first-dose seats for
    two, second-dose seats inside the interval, and a day with a single seat."""
    settings.SITE_URL = live_server.url
    settings.OUTBOX_DIR = tmp_path
    make_postcode("48143", world.district)
    slots = {
        "first": make_slot(world.centre, world.biontech, at(5, 9), capacity=2),
        "later": make_slot(world.centre, world.biontech, at(6, 11), capacity=2),
        "single": make_slot(world.centre, world.biontech, at(7, 10), capacity=1),
        "second": make_slot(world.centre, world.biontech, at(27, 9), capacity=4, released=False),
        "second_later": make_slot(
            world.centre, world.biontech, at(28, 11), capacity=4, released=False
        ),
    }
    return Site(live_server.url, tmp_path, slots)


@pytest.fixture
def pool_site(pool, live_server, settings, tmp_path):
    """The live server and a region in assignment mode (the `pool`, with its population
    register): a day with one free seat, and a later day with seats for two."""
    settings.SITE_URL = live_server.url
    settings.OUTBOX_DIR = tmp_path
    slots = {
        "single": make_slot(pool.centre, pool.biontech, at(4, 9), capacity=1),
        "single_second": make_slot(
            pool.centre, pool.biontech, at(26, 9), capacity=1, released=False
        ),
        "first": make_slot(pool.centre, pool.biontech, at(5, 10), capacity=2),
        "second": make_slot(pool.centre, pool.biontech, at(27, 10), capacity=2, released=False),
    }
    return Site(live_server.url, tmp_path, slots)


def open_walk(browser, site: Site, language: str = "de"):
    context = browser.new_context(locale="de-DE" if language == "de" else "en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    shots = screenshots_wanted(language)
    return Walk(page, site.url, language, site.outbox, None, shots=shots), context


def log_in(walk: Walk, user, labels: dict) -> None:
    """The console sends a stranger to Django's admin log-in; after the password comes the
    code of the app; then the console opens."""
    staff_log_in(walk, user, PASSWORD, "/callcenter/", labels)
    assert walk.heading() == labels["console"]


def choose_time(walk: Walk, first: Slot, second: Slot, button: str) -> None:
    """On a times page: the day of `first`, then its option with `second`, chosen with the
    keyboard (Space on the radio, Tab to the button, Enter)."""
    page = walk.page
    day = timezone.localdate(first.start).isoformat()
    walk.follow(page.locator(f'a[href="?tag={day}"]'))
    radio = page.locator(f'input[value="{first.pk}-{second.pk}"]')
    radio.focus()
    page.keyboard.press("Space")
    expect(radio).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=button, exact=True)).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    walk.check_page()


def look_up(walk: Walk, labels: dict, code: str, reason: str) -> None:
    """From the console's start page: the code, as the caller reads it out, and the reason."""
    page = walk.page
    walk.follow(page.get_by_role("link", name=labels["find_by_code"]))
    field = page.get_by_label(labels["code"], exact=True)
    expect(field).to_be_focused()
    page.keyboard.type(code)
    page.get_by_label(labels["reason"]).select_option(label=reason)
    submit_with_enter(walk, field)
    assert walk.heading() == labels["booking"]


def main_text(walk: Walk) -> str:
    return walk.page.get_by_role("main").inner_text()


def shown(start, language: str) -> str:
    """A date and time as the pages show it, in the walk's language."""
    with translation.override(language):
        return when(start)


def pair_slots(pair: AppointmentPair) -> list[int]:
    return [a.slot_id for a in pair.appointments.order_by("dose")]


def seats(*slots: Slot) -> list[int]:
    """How many seats of each slot are booked now."""
    booked = dict(Slot.objects.filter(pk__in=[s.pk for s in slots]).values_list("pk", "booked"))
    return [booked[s.pk] for s in slots]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# --- codes mode (R1, R4, R7) ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "en"])
def test_R1_R4_agent_books_without_email_reads_codes_then_finds_by_code_rebooks_and_cancels(
    browser, codes_site, agent, language
):
    slots = codes_site.slots
    first, later, second, second_later = (
        slots["first"],
        slots["later"],
        slots["second"],
        slots["second_later"],
    )
    walk, context = open_walk(browser, codes_site, language)
    labels, page = LABELS[language], walk.page
    try:
        log_in(walk, agent, labels)

        # 1. R1: book for a caller without e-mail: postcode → birth date → reason → day → time
        walk.follow(page.get_by_role("link", name=labels["book_for_caller"]))
        expect(page.get_by_label(labels["postcode"])).to_be_focused()
        page.keyboard.type("48143")
        page.keyboard.press("Tab")  # on to the first person's date of birth
        birth_date = page.get_by_label(labels["birth_date_1"], exact=True)
        expect(birth_date).to_be_focused()
        page.keyboard.type("15.03.1950")
        page.get_by_label(labels["reason"]).select_option(label=labels["reason_booking"])
        submit_with_enter(walk, birth_date)
        assert walk.heading() == labels["choose_time"]
        single_day = timezone.localdate(slots["single"].start)
        expect(page.locator(f'a[href="?tag={single_day}"]')).to_have_count(1)  # one seat: enough
        choose_time(walk, first, second, labels["book"])
        assert walk.heading() == labels["booked"]
        walk.shot("16-console-codes-read-out")
        # The codes, read from the page, each spelled in the alphabet of the language
        text = main_text(walk)
        codes = CODE_RE.findall(text)
        assert len(codes) == 2 and codes[0] != codes[1]
        for code in codes:
            assert spelled(code, language) in text
        assert labels["no_email"] in text
        code_set = code_set_for(codes[0])
        assert code_set_for(codes[1]).pk == code_set.pk  # the 1st and 2nd appointment's codes
        assert (code_set.channel, code_set.email) == ("phone", "")
        pair = live_pair_for(holder=code_set.holder)
        assert pair.channel == "phone" and pair_slots(pair) == [first.pk, second.pk]
        assert seats(first, later, second, second_later) == [1, 0, 1, 0]
        assert not OutboundMessage.objects.exists()  # R1: no e-mail given, none sent

        # the next call: nothing of this booking is left in the agent's session
        walk.follow(page.get_by_role("link", name=labels["next_call"]))
        walk.goto("/callcenter/codes/buchen/termine/")
        assert page.url == f"{walk.base}{walk.prefix}/callcenter/codes/buchen/"
        walk.follow(page.get_by_role("link", name=labels["home"]))

        # 2. R4: found by its code alone (the 2nd code, read out in lower case with spaces)
        look_up(walk, labels, codes[1].lower().replace("-", " "), labels["reason_rebook"])
        text = main_text(walk)
        assert shown(first.start, language) in text and shown(second.start, language) in text
        lookup = AuditEntry.objects.get(action="lookup", what="booking_code")
        assert (lookup.which, lookup.why) == (str(code_set.pk), "Umbuchung")

        # 3. rebook to the later day
        walk.follow(page.get_by_role("button", name=labels["rebook"], exact=True))
        assert walk.heading() == labels["choose_new_time"]
        choose_time(walk, later, second_later, labels["rebook_button"])
        assert walk.heading() == labels["booking"]
        text = main_text(walk)
        assert labels["rebooked"] in text
        assert shown(later.start, language) in text and shown(first.start, language) not in text
        pair.refresh_from_db()
        assert pair.status != PairStatus.BOOKED
        moved = live_pair_for(holder=code_set.holder)
        assert pair_slots(moved) == [later.pk, second_later.pk]
        assert moved.channel == "phone"
        assert seats(first, later, second, second_later) == [0, 1, 0, 1]

        # end the call: the booking is no longer open in the console
        walk.click(labels["end_call"])
        assert walk.heading() == labels["console"]
        walk.goto("/callcenter/codes/buchung/")
        assert walk.heading() == labels["find_by_code"]
        walk.follow(page.get_by_role("link", name=labels["home"]))

        # 4. cancel, with the 1st code as shown on the page; asked once more
        look_up(walk, labels, codes[0], labels["reason_cancel"])
        walk.follow(page.get_by_role("link", name=labels["cancel"], exact=True))
        assert walk.heading() == labels["cancel"]
        assert shown(later.start, language) in main_text(walk)
        walk.click(labels["cancel_yes"])
        assert walk.heading() == labels["cancelled"]
        moved.refresh_from_db()
        assert moved.status == PairStatus.CANCELLED
        assert live_pair_for(holder=code_set.holder) is None
        assert seats(first, later, second, second_later) == [0, 0, 0, 0]
        assert not OutboundMessage.objects.exists()  # no cancellation mail either
        # every change is audited with the reason chosen in the browser
        changes = AuditEntry.objects.filter(action="change", what="appointment_pair")
        assert sorted(changes.values_list("why", flat=True)) == [
            "Stornierung",
            "Terminbuchung",
            "Umbuchung",
        ]
    finally:
        context.close()
    assert walk.problems == []


def test_R7_a_couple_booked_by_phone_is_rebooked_together_with_both_codes(
    browser, codes_site, agent
):
    slots = codes_site.slots
    first, later, single = slots["first"], slots["later"], slots["single"]
    second, second_later = slots["second"], slots["second_later"]
    walk, context = open_walk(browser, codes_site)
    labels, page = LABELS["de"], walk.page
    try:
        log_in(walk, agent, labels)

        # Booked for two people: two birth dates, the same times side by side
        walk.follow(page.get_by_role("link", name=labels["book_for_caller"]))
        expect(page.get_by_label(labels["postcode"])).to_be_focused()
        page.keyboard.type("48143")
        page.get_by_label(labels["birth_date_1"]).press_sequentially("15.03.1950")
        page.get_by_label(labels["birth_date_2"]).press_sequentially("02.11.1948")
        page.get_by_label(labels["reason"]).select_option(label=labels["reason_booking"])
        submit_with_enter(walk, page.get_by_label(labels["birth_date_2"]))
        assert labels["side_by_side"] in main_text(walk)
        # a day with a single free seat is no day for two
        assert page.locator(f'a[href="?tag={timezone.localdate(single.start)}"]').count() == 0
        choose_time(walk, first, second, labels["book"])
        assert walk.heading() == labels["booked"]
        codes = CODE_RE.findall(main_text(walk))
        assert len(codes) == 4  # two people, two codes each, in order
        mine, theirs = code_set_for(codes[0]), code_set_for(codes[2])
        assert code_set_for(codes[1]).pk == mine.pk and code_set_for(codes[3]).pk == theirs.pk
        assert mine.pk != theirs.pk
        holders = [mine.holder, theirs.holder]
        pairs = [live_pair_for(holder=h) for h in holders]
        assert [pair_slots(p) for p in pairs] == [[first.pk, second.pk]] * 2
        assert pairs[0].party is not None and pairs[0].party == pairs[1].party
        assert seats(first, later, second, second_later) == [2, 0, 2, 0]
        walk.follow(page.get_by_role("link", name=labels["next_call"]))
        walk.follow(page.get_by_role("link", name=labels["home"]))

        # One person's code is looked up; the other's goes into "gemeinsam umbuchen"
        look_up(walk, labels, codes[0], labels["reason_rebook"])
        page.get_by_label(labels["together_2"]).press_sequentially(codes[3])
        walk.follow(page.get_by_role("button", name=labels["rebook"], exact=True))
        assert walk.heading() == labels["choose_new_time"]
        assert labels["side_by_side"] in main_text(walk)
        assert page.locator(f'a[href="?tag={timezone.localdate(later.start)}"]').count() == 1
        assert page.locator(f'a[href="?tag={timezone.localdate(single.start)}"]').count() == 0
        choose_time(walk, later, second_later, labels["rebook_button"])
        assert walk.heading() == labels["booking"]
        assert labels["rebooked"] in main_text(walk)

        # Both moved, to the same new slots side by side; the old seats are free
        for old in pairs:
            old.refresh_from_db()
            assert old.status != PairStatus.BOOKED
        moved = [live_pair_for(holder=h) for h in holders]
        assert [pair_slots(p) for p in moved] == [[later.pk, second_later.pk]] * 2
        assert moved[0].party is not None and moved[0].party == moved[1].party
        assert {p.channel for p in moved} == {"phone"}
        assert seats(first, later, second, second_later, single) == [0, 2, 0, 2, 0]
        assert not OutboundMessage.objects.exists()
    finally:
        context.close()
    assert walk.problems == []


# --- assignment mode (R17, R19, R21) ---------------------------------------------------------


def test_R17_R21_agent_registers_a_caller_without_email_whose_letter_is_in_the_print_batch(
    browser, pool_site, agent, pool
):
    first, second = pool_site.slots["first"], pool_site.slots["second"]
    walk, context = open_walk(browser, pool_site)
    labels, page = REGISTRATION_LABELS, walk.page
    try:
        log_in(walk, agent, LABELS["de"])

        # R13, R21: registered by phone, without password and without e-mail
        walk.follow(page.get_by_role("link", name=labels["register_caller"], exact=True).first)
        expect(page.get_by_label(labels["postcode"])).to_be_focused()
        page.keyboard.type("48143")
        birth_date = page.get_by_label(labels["birth_date"])
        birth_date.press_sequentially("02.11.1948")
        submit_with_enter(walk, birth_date)
        assert walk.heading() == labels["details"]
        expect(page.get_by_label(labels["password"])).to_have_count(0)  # R21: no password
        expect(page.get_by_label(labels["first_name"], exact=True)).to_be_focused()
        page.keyboard.type("Max")
        page.get_by_label(labels["last_name"], exact=True).press_sequentially("Muster")
        page.get_by_label(labels["street"], exact=True).press_sequentially("Rheinstraße 12")
        page.get_by_label(labels["city"], exact=True).press_sequentially("Münster")
        page.get_by_label(labels["main_residence"]).check()
        page.get_by_label(pool.centre.name).check()
        page.get_by_label(pool.biontech.name).check()
        expect(page.get_by_label(labels["email"])).to_have_value("")
        expect(page.get_by_label(labels["language_de"], exact=True)).to_be_checked()
        walk.click(labels["register"])
        assert walk.heading() == labels["registered"]
        text = main_text(walk)
        (vorgangskennung,) = set(CODE_RE.findall(text))
        assert spelled(vorgangskennung, "de") in text  # read out, spelled
        registration = Registration.objects.get()
        assert grouped(registration.vorgangskennung) == vorgangskennung
        assert (registration.first_name, registration.last_name) == ("Max", "Muster")
        assert (registration.channel, registration.password, registration.email) == (
            "phone",
            "",
            "",
        )
        assert registration.status == RegistrationStatus.WAITING  # R14: in the register

        # R18: a pair at once
        walk.follow(page.get_by_role("link", name=labels["book_now"]))
        assert walk.heading() == labels["choose_time"]
        choose_time(walk, first, second, labels["book"])
        assert walk.heading() == f"Registrierung {vorgangskennung}"
        text = main_text(walk)
        assert labels["booked"] in text
        assert shown(first.start, "de") in text and shown(second.start, "de") in text
        letter = Letter.objects.get(registration=registration)
        assert f"Brief vom {letter.issued_on:%d.%m.%Y} \N{EN DASH} gilt" in text  # R12
        pair = live_pair_for(holder=registration.holder)
        assert pair_slots(pair) == [first.pk, second.pk] and letter.pair_id == pair.pk
        assert seats(first, second) == [1, 1]
        assert letter.batch is None
        assert not OutboundMessage.objects.exists()  # R17: a letter, no e-mail
        walk.click(labels["end_call"])
        assert walk.heading() == labels["find_title"]
    finally:
        context.close()
    assert walk.problems == []

    # R17: the daily job, enqueued as the scheduler does it and run by the worker, puts the
    # letter into the day's print batch
    job = next(job for job in SCHEDULE if job.name == "print_letters")
    due = dt.datetime.combine(timezone.localdate(), job.at, tzinfo=timezone.get_default_timezone())
    assert scheduled_jobs_enqueue(now=due, schedule=[job]) == ["print_letters"]
    run_worker()
    batch = PrintBatch.objects.get(day=timezone.localdate())
    letter.refresh_from_db()
    assert batch.letter_count == 1 and letter.batch_id == batch.pk
    text = pdf_text(bytes(batch.pdf))
    with translation.override("de"):
        lines = [appointment_line(1, first.start), appointment_line(2, second.start)]
    for expected in [
        "Max Muster",
        "Rheinstraße 12",
        "48143 Münster",
        vorgangskennung,
        *lines,
        pool.centre.name,
    ]:
        assert expected in text, expected


def test_R19_a_couple_linked_by_both_vorgangskennungen_gets_the_same_times_side_by_side(
    browser, pool_site, agent, pool
):
    slots = pool_site.slots
    first, second, single = slots["first"], slots["second"], slots["single"]
    erika = register(
        pool,
        first_name="Erika",
        birth_date=dt.date(1950, 3, 15),
        channel="phone",
        password=None,
        email="",
    )
    max_ = register(
        pool,
        first_name="Max",
        birth_date=dt.date(1948, 11, 2),
        channel="phone",
        password=None,
        email="",
    )
    assert {erika.status, max_.status} == {RegistrationStatus.WAITING}
    walk, context = open_walk(browser, pool_site)
    labels, page = REGISTRATION_LABELS, walk.page
    try:
        log_in(walk, agent, LABELS["de"])

        # Erika's registration, found by Vorgangskennung and date of birth (R20)
        walk.follow(page.get_by_role("link", name=labels["find_registration"]))
        field = page.get_by_label(labels["vorgangskennung"], exact=True)
        expect(field).to_be_focused()
        page.keyboard.type(grouped(erika.vorgangskennung))
        page.get_by_label(labels["find_birth_date"], exact=True).press_sequentially("15.03.1950")
        page.get_by_label(labels["reason_couple"]).check()
        submit_with_enter(walk, field)
        assert walk.heading() == f"Registrierung {grouped(erika.vorgangskennung)}"

        # R19: linked with Max's Vorgangskennung (as read out: lower case, no dashes) and
        # his date of birth
        walk.follow(page.get_by_role("link", name=labels["couple"]))
        partner = page.get_by_label(labels["partner_vorgangskennung"])
        expect(partner).to_be_focused()
        page.keyboard.type(max_.vorgangskennung.lower())
        birth_date = page.get_by_label(labels["partner_birth_date"])
        birth_date.press_sequentially("02.11.1948")
        submit_with_enter(walk, birth_date)
        text = main_text(walk)
        assert labels["coupled"] in text
        assert grouped(max_.vorgangskennung) in text
        assert shown(first.start, "de") in text and shown(second.start, "de") in text

        # Both have the same times, side by side; the day with one seat was no option
        erika.refresh_from_db()
        max_.refresh_from_db()
        assert (erika.partner_id, max_.partner_id) == (max_.pk, erika.pk)
        pairs = [live_pair_for(holder=r.holder) for r in (erika, max_)]
        assert [pair_slots(p) for p in pairs] == [[first.pk, second.pk]] * 2
        assert seats(first, second, single) == [2, 2, 0]
        # R17: no e-mail address, so each gets a letter with the pair
        assert {letter.pair_id for letter in Letter.objects.all()} == {p.pk for p in pairs}
        assert not OutboundMessage.objects.exists()

        # The next call, about Max: the agent sees the couple from his side too
        walk.click(labels["end_call"])
        assert walk.heading() == labels["find_title"]
        field = page.get_by_label(labels["vorgangskennung"], exact=True)
        expect(field).to_be_focused()
        page.keyboard.type(grouped(max_.vorgangskennung))
        page.get_by_label(labels["find_birth_date"], exact=True).press_sequentially("02.11.1948")
        page.get_by_label(labels["reason_information"]).check()
        submit_with_enter(walk, field)
        assert walk.heading() == f"Registrierung {grouped(max_.vorgangskennung)}"
        text = main_text(walk)
        assert grouped(erika.vorgangskennung) in text
        assert shown(first.start, "de") in text and shown(second.start, "de") in text
    finally:
        context.close()
    assert walk.problems == []
