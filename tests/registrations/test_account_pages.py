"""The registration and account pages through Django's client (R13 to R23): register, log
in (throttled, no enumeration), password reset by e-mail link, choose and move the pair,
cancel back into the pool, delete. The services behind them have their own tests."""

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from impftermin.booking.models import AppointmentPair, AppointmentStatus, PairStatus
from impftermin.booking.services import pair_rebook
from impftermin.core import identifiers
from impftermin.core.errors import ServiceError
from impftermin.core.models import AttemptCounter
from impftermin.core.throttle import attempts_expired_delete, client_key
from impftermin.notifications.models import OutboundMessage
from impftermin.regions.models import BookingMode
from impftermin.registrations.accounts import registration_log_in
from impftermin.registrations.models import Registration, RegistrationStatus
from impftermin.registrations.services import (
    assignments_notify,
    registration_book,
    registration_pair_cancel,
    registrations_assign,
    registrations_couple,
)
from tests.factories import at, make_centre, make_slot
from tests.registrations.helpers import PASSWORD, register

pytestmark = pytest.mark.django_db

START = reverse("registrations:start")
DETAILS = reverse("registrations:details")
LOG_IN = reverse("registrations:log_in")
ACCOUNT = reverse("registrations:account")
CHOOSE = reverse("registrations:choose")
FORGOTTEN = reverse("registrations:password_forgotten")
ACCOUNT_PAGES = [
    ACCOUNT,
    CHOOSE,
    reverse("registrations:document"),
    reverse("registrations:cancel"),
    reverse("registrations:delete"),
    reverse("registrations:registered"),
]

DETAILS_FORM = {
    "first_name": "Erika",
    "last_name": "Muster",
    "street": "Rheinstraße 12",
    "city": "Münster",
    "residence": "first",
    "email": "erika@example.org",
    "mobile": "",
    "password": PASSWORD,
    "password_again": PASSWORD,
}


def start(client, pool, birth_date="15.03.1950"):
    response = client.post(START, {"postcode": "48143", "birth_date": birth_date})
    assert response.status_code == 302 and response["Location"] == DETAILS
    return response


def details(pool, **fields):
    return DETAILS_FORM | {"centre": pool.centre.pk, "vaccine": pool.biontech.pk} | fields


def log_in(client, registration, password=PASSWORD):
    return client.post(
        LOG_IN,
        {
            "vorgangskennung": identifiers.grouped(registration.vorgangskennung),
            "password": password,
        },
    )


def assigned(pool, **fields):
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(27), released=False)
    registration = register(pool, **fields)
    assert registrations_assign() == 1
    return registration


# --- registering -------------------------------------------------------------------------


def test_R13_R15_registering_online_shows_the_vorgangskennung_and_logs_in(client, pool):
    start(client, pool)
    page = client.get(DETAILS).content.decode()
    assert pool.centre.name in page and pool.biontech.name in page
    response = client.post(DETAILS, details(pool, for_someone_else="on"))
    assert response.status_code == 302
    registration = Registration.objects.get()
    assert registration.status == RegistrationStatus.WAITING  # the register confirmed it
    assert registration.for_someone_else and registration.birth_date == dt.date(1950, 3, 15)
    page = client.get(response["Location"]).content.decode()
    assert identifiers.grouped(registration.vorgangskennung) in page
    assert client.get(ACCOUNT).status_code == 200  # logged in


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"first_name": ""}, "Bitte geben Sie den Vornamen an."),
        ({"password_again": "something-else-2021"}, "stimmen nicht überein"),
        ({"password": "12345678", "password_again": "12345678"}, "Passwort"),
        ({"email": "not-an-address"}, "gültige E-Mail-Adresse"),
        ({"residence": "third"}, "Haupt- oder Nebenwohnsitz"),
        ({"centre": "999999"}, "Impfzentrum"),
        ({"vaccine": "x"}, "Impfstoff"),
        ({"first_name": "<script>alert(1)</script>" * 20}, "höchstens 100 Zeichen"),
    ],
)
def test_bad_registration_input_shows_an_error_and_stores_nothing(client, pool, fields, error):
    start(client, pool)
    response = client.post(DETAILS, details(pool, **fields))
    assert response.status_code == 200
    page = response.content.decode()
    assert error in page and "kern-error" in page and "<script>alert" not in page
    assert not Registration.objects.exists()


def test_a_name_with_markup_is_kept_as_text_and_shown_escaped(client, pool):
    start(client, pool)
    client.post(DETAILS, details(pool, last_name="<script>alert(1)</script>"))
    assert Registration.objects.get().last_name == "<script>alert(1)</script>"
    page = client.get(ACCOUNT).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


def test_R12_a_postcode_of_a_codes_region_points_to_booking_with_codes(client, pool, world):

    pool.region.booking_mode = BookingMode.CODES
    pool.region.save()
    response = client.post(START, {"postcode": "48143", "birth_date": "15.03.1950"})
    assert response.status_code == 200 and reverse("codes:start") in response.content.decode()


def test_registration_start_refuses_bad_postcodes_and_dates(client, pool):
    for data in (
        {"postcode": "4814", "birth_date": "15.03.1950"},
        {"postcode": "48143", "birth_date": "31.02.1950"},
        {"postcode": "48143", "birth_date": "15.03.2090"},
        {"postcode": "", "birth_date": ""},
    ):
        response = client.post(START, data)
        assert response.status_code == 200 and "kern-error" in response.content.decode()
    assert client.get(DETAILS)["Location"] == START  # no flow without the first step


def test_R14_a_held_registration_is_told_and_cannot_choose_appointments(client, pool):
    start(client, pool, birth_date="16.03.1950")  # not in the register
    client.post(DETAILS, details(pool))
    assert Registration.objects.get().status == RegistrationStatus.REVIEW
    assert "Melderegister" in client.get(ACCOUNT).content.decode()
    assert client.get(CHOOSE)["Location"] == ACCOUNT


# --- log-in --------------------------------------------------------------------------------


def test_account_pages_need_a_log_in(client, pool):
    for url in ACCOUNT_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == LOG_IN, url


def test_R16_log_in_with_vorgangskennung_and_password_shows_the_pair(client, pool):
    registration = assigned(pool)
    response = log_in(client, registration)
    assert response.status_code == 302 and response["Location"] == ACCOUNT
    page = client.get(ACCOUNT).content.decode()
    assert identifiers.grouped(registration.vorgangskennung) in page
    assert pool.centre.name in page and "2. Impfung" in page


def test_log_in_gives_the_session_a_new_key_no_fixation(client, pool):
    """ASVS V3.2.1: a session key known before the log-in (planted by someone else) is
    worth nothing after it."""
    registration = register(pool)
    client.get(LOG_IN)
    client.session.save()
    planted = client.session.session_key
    assert log_in(client, registration).status_code == 302
    assert client.session.session_key != planted
    stranger = Client()
    stranger.cookies["sessionid"] = planted
    assert stranger.get(ACCOUNT).status_code == 302  # to the log-in


def test_R16_log_in_brute_force_is_throttled(client, pool):
    registration = register(pool)
    for _attempt in range(5):
        response = log_in(client, registration, password="wrong-password-1")
        assert response.status_code == 200
        assert "Vorgangskennung oder Passwort stimmen nicht" in response.content.decode()
    response = log_in(client, registration)  # even the right password, for now
    assert response.status_code == 429 and "Zu viele Versuche" in response.content.decode()
    assert client.get(ACCOUNT).status_code == 302


def test_R16_unknown_vorgangskennung_reads_like_a_wrong_password_and_is_throttled(client, pool):
    registration = register(pool)
    unknown = identifiers.grouped("ABCDEFGHJKM" + identifiers.check_character("ABCDEFGHJKM"))
    wrong = log_in(client, registration, password="wrong-password-1").content.decode()
    for _attempt in range(5):
        response = client.post(LOG_IN, {"vorgangskennung": unknown, "password": PASSWORD})
        assert response.status_code == 200
    text = re.compile(r'<p class="kern-error"[^>]*>.*?</p>', re.S)
    assert text.findall(response.content.decode()) == text.findall(wrong)
    response = client.post(LOG_IN, {"vorgangskennung": unknown, "password": PASSWORD})
    assert response.status_code == 429


def test_R16_many_vorgangskennungen_from_one_client_are_throttled(client, pool):
    for number in range(30):
        body = identifiers.random_string(11)
        client.post(
            LOG_IN,
            {"vorgangskennung": body + identifiers.check_character(body), "password": f"x{number}"},
        )
    registration = register(pool)
    assert log_in(client, registration).status_code == 429


def test_R21_a_phone_registration_cannot_log_in_and_is_told_to_call(client, pool):
    registration = register(pool, channel="phone", password=None, email="")
    response = log_in(client, registration, password="")
    assert response.status_code == 200 and "Hotline" in response.content.decode()
    response = log_in(client, registration, password="anything-at-all-1")
    assert "telefonisch registriert" in response.content.decode().lower()
    assert client.get(ACCOUNT).status_code == 302


def test_log_out_ends_the_session(client, pool):
    registration = register(pool)
    log_in(client, registration)
    client.post(reverse("registrations:log_out"))
    assert client.get(ACCOUNT).status_code == 302


# --- password reset --------------------------------------------------------------------------


def reset_link(registration) -> str:
    message = OutboundMessage.objects.filter(kind="password_reset").latest("id")
    assert message.recipient == registration.email
    return re.search(r"https?://\S+", message.body).group(0).split("//", 1)[1].split("/", 1)[1]


def test_R16_password_reset_by_email_link_ends_other_sessions(client, pool, django_user_model):

    registration = register(pool)
    other_browser = Client()
    log_in(other_browser, registration)
    response = client.post(
        FORGOTTEN,
        {"vorgangskennung": registration.vorgangskennung.lower(), "email": "ERIKA@example.org"},
    )
    assert "Wenn Vorgangskennung und E-Mail-Adresse" in response.content.decode()
    link = "/" + reset_link(registration)
    assert client.get(link).status_code == 200
    new = "ein-anderes-Passwort-2022"
    response = client.post(link, {"password": new, "password_again": new})
    assert "Ihr neues Passwort gilt" in response.content.decode()
    assert other_browser.get(ACCOUNT).status_code == 302  # logged out everywhere
    assert client.get(link).status_code == 404  # a link works once
    assert log_in(client, registration).status_code == 200  # the old password is gone
    assert log_in(client, registration, password=new)["Location"] == ACCOUNT


def test_password_reset_request_does_not_tell_whether_a_registration_exists(client, pool):
    registration = register(pool)
    answers = set()
    for data in (
        {"vorgangskennung": registration.vorgangskennung, "email": "someone@example.org"},
        {"vorgangskennung": "ABCD-EFGH-JKMN", "email": "erika@example.org"},
        {"vorgangskennung": registration.vorgangskennung, "email": "erika@example.org"},
    ):
        page = client.post(FORGOTTEN, data).content.decode()
        answers.add(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page))
    assert len(answers) == 1
    assert OutboundMessage.objects.filter(kind="password_reset").count() == 1


@pytest.mark.parametrize(
    "link",
    ["MQ/abc-123/", "!!!/x/", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ/1-2/", "MQ/" + "a" * 300 + "/"],
)
def test_a_forged_reset_link_is_refused(client, pool, link):
    register(pool)
    response = client.get("/konto/passwort/" + link)
    assert response.status_code == 404 and "ungültig" in response.content.decode()


def test_a_weak_new_password_is_refused(client, pool):
    registration = register(pool)
    client.post(
        FORGOTTEN, {"vorgangskennung": registration.vorgangskennung, "email": "erika@example.org"}
    )
    link = "/" + reset_link(registration)
    response = client.post(link, {"password": "password", "password_again": "password"})
    assert response.status_code == 200 and "kern-error" in response.content.decode()
    registration.refresh_from_db()
    assert log_in(client, registration)["Location"] == ACCOUNT  # unchanged


# --- choosing, moving, cancelling, deleting --------------------------------------------------


def first_option(page: str) -> str:
    return re.search(r'name="option" value="([0-9-]+)"', page).group(1)


def nonce(page: str) -> str:
    return re.search(r'name="nonce" value="([^"]+)"', page).group(1)


def test_R18_a_registration_books_its_pair_right_after_registering(client, pool):
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(27), released=False)
    start(client, pool)
    client.post(DETAILS, details(pool))
    page = client.get(CHOOSE).content.decode()
    response = client.post(CHOOSE, {"option": first_option(page), "nonce": nonce(page)})
    assert response.status_code == 302 and "gebucht=1" in response["Location"]
    registration = Registration.objects.get()
    assert registration.status == RegistrationStatus.ASSIGNED
    pair = AppointmentPair.objects.get(holder=registration.holder, status=PairStatus.BOOKED)
    assert pair.appointments.count() == 2
    assert OutboundMessage.objects.filter(recipient="erika@example.org").exists()
    assert registrations_assign() == 0  # the assignment does not give a second pair


def test_R20_rebook_in_the_account_moves_the_pair(client, pool):
    registration = assigned(pool)
    later = make_slot(pool.centre, pool.biontech, at(8))
    make_slot(pool.centre, pool.biontech, at(30), released=False)
    log_in(client, registration)
    page = client.get(f"{CHOOSE}?tag={later.start.date().isoformat()}").content.decode()
    assert "Termin verbindlich umbuchen" in page
    response = client.post(
        CHOOSE,
        {"option": first_option(page), "nonce": nonce(page), "tag": later.start.date().isoformat()},
    )
    assert "umgebucht=1" in response["Location"]
    pair = AppointmentPair.objects.get(holder=registration.holder, status=PairStatus.BOOKED)
    assert pair.appointments.get(dose=1).slot == later


def test_R20_rebook_less_than_3_days_before_is_refused_on_the_page(client, pool):
    make_slot(pool.centre, pool.biontech, at(2))
    make_slot(pool.centre, pool.biontech, at(24), released=False)
    registration = register(pool)
    registrations_assign()
    log_in(client, registration)
    page = client.get(ACCOUNT).content.decode()
    assert "Termin verschieben" not in page
    page = client.get(CHOOSE).content.decode()
    assert "kern-alert--warning" in page and 'name="option"' not in page


def test_a_stale_times_page_books_nothing(client, pool):
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(27), released=False)
    registration = register(pool)
    log_in(client, registration)
    page = client.get(CHOOSE).content.decode()
    response = client.post(CHOOSE, {"option": first_option(page), "nonce": "old"})
    assert response.status_code == 302 and response["Location"] == CHOOSE
    for option in ("1-2-3", "x", "-1", str(2**70)):
        client.post(CHOOSE, {"option": option, "nonce": nonce(page)})
    assert not AppointmentPair.objects.exists()


def test_R22_cancel_in_the_account_says_so_plainly_and_keeps_the_registration(client, pool):
    registration = assigned(pool)
    log_in(client, registration)
    page = client.get(reverse("registrations:cancel")).content.decode()
    assert "Sie bleiben registriert" in page
    response = client.post(reverse("registrations:cancel"))
    assert "storniert=1" in response["Location"]
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.WAITING
    assert registrations_assign() == 1  # a new pair from the pool


def test_R23_delete_in_the_account_erases_the_person_and_ends_the_session(client, pool):
    registration = assigned(pool)
    assignments_notify(registration_ids=[registration.pk])
    OutboundMessage.objects.update(status="sent", sent_at=timezone.now())
    log_in(client, registration)
    assert "endgültig" in client.get(reverse("registrations:delete")).content.decode()
    response = client.post(reverse("registrations:delete"))
    assert "Registrierung gelöscht" in response.content.decode()
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.DELETED and registration.last_name == ""
    assert not AppointmentPair.objects.filter(status=PairStatus.BOOKED).exists()
    # the mails sent to them are erased too; the last one (it names the cancelled pair) is
    # on its way
    assert list(
        OutboundMessage.objects.filter(holder=registration.holder).values_list("kind", "status")
    ) == [("registration_deleted", "pending")]
    assert client.get(ACCOUNT).status_code == 302
    assert log_in(client, registration).status_code == 200  # no log-in any more


def test_R16_the_appointment_document_downloads_as_pdf(client, pool):
    registration = assigned(pool)
    log_in(client, registration)
    response = client.get(reverse("registrations:document"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]


def test_the_pages_speak_english(client, pool):
    response = client.get("/en" + START)
    assert response.status_code == 200 and "Register" in response.content.decode()


def test_R27_a_recovered_person_chooses_one_appointment(client, pool):
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(27), released=False)
    registration = register(pool, single_dose=True)
    log_in(client, registration)
    page = client.get(CHOOSE).content.decode()
    assert "kein Zweittermin" in page and "2. Termin:" not in page
    client.post(CHOOSE, {"option": first_option(page), "nonce": nonce(page)})
    pair = AppointmentPair.objects.get(holder=registration.holder, status=PairStatus.BOOKED)
    assert list(pair.appointments.values_list("dose", flat=True)) == [1]
    assert not pair.second_dose_at_centre


def test_R19_a_couple_chooses_pairs_side_by_side(client, pool):

    erika = register(pool)
    max_ = register(pool, first_name="Max", birth_date=dt.date(1948, 11, 2), email="")
    registrations_couple(
        registration_id=erika.pk,
        partner_vorgangskennung=max_.vorgangskennung,
        partner_birth_date=max_.birth_date,
    )
    # Slots appear after the coupling (else it books them side by side at once).
    make_slot(pool.centre, pool.biontech, at(5, 9), capacity=1)  # room for one only
    make_slot(pool.centre, pool.biontech, at(5, 10), capacity=2)
    make_slot(pool.centre, pool.biontech, at(27), capacity=2, released=False)
    log_in(client, erika)
    page = client.get(CHOOSE).content.decode()
    assert "Gemeinsamer Termin" in page and page.count('name="option"') == 1
    client.post(CHOOSE, {"option": first_option(page), "nonce": nonce(page)})
    pairs = AppointmentPair.objects.filter(status=PairStatus.BOOKED)
    assert {p.holder for p in pairs} == {erika.holder, max_.holder}
    assert len({p.appointments.get(dose=1).slot_id for p in pairs}) == 1


def test_R25_short_notice_from_the_account(client, pool):
    registration = register(pool)
    log_in(client, registration)
    response = client.post(reverse("registrations:short_notice"))
    assert response.status_code == 409 and "kein Termin frei" in response.content.decode()
    assert registration.holder not in {p.holder for p in AppointmentPair.objects.all()}
    make_slot(pool.centre, pool.biontech, at(2))
    make_slot(pool.centre, pool.biontech, at(24), released=False)
    response = client.post(reverse("registrations:short_notice"))
    assert "sofort=1" in response["Location"]
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.ASSIGNED


# --- what the review found -------------------------------------------------------------------


def test_R22_after_the_first_dose_the_pair_is_not_cancelled_into_a_new_first_dose(client, pool):

    registration = assigned(pool)
    pair = AppointmentPair.objects.get(holder=registration.holder)
    pair.appointments.filter(dose=1).update(status=AppointmentStatus.VACCINATED)
    log_in(client, registration)
    assert reverse("registrations:cancel") not in client.get(ACCOUNT).content.decode()
    assert client.get(reverse("registrations:cancel"))["Location"] == ACCOUNT
    with pytest.raises(ServiceError) as error:
        registration_pair_cancel(registration_id=registration.pk)
    assert error.value.code == "pair_in_progress"
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.ASSIGNED
    assert AppointmentPair.objects.get(pk=pair.pk).status == PairStatus.BOOKED


def test_R16_a_reset_link_survives_the_assignment(client, pool):
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(27), released=False)
    registration = register(pool)
    client.post(
        FORGOTTEN, {"vorgangskennung": registration.vorgangskennung, "email": "erika@example.org"}
    )
    link = "/" + reset_link(registration)
    assert registrations_assign() == 1
    assert client.get(link).status_code == 200


def test_R18_a_pair_at_another_centre_of_the_district_moves_the_registration_there(pool):

    other = make_centre(pool.district, name="Impfzentrum Süd")
    first = make_slot(other, pool.biontech, at(5))
    make_slot(other, pool.biontech, at(27), released=False)
    registration = register(pool)
    assert registration_book(registration_id=registration.pk, first_slot_id=first.pk).booked
    registration.refresh_from_db()
    assert registration.centre_id == other.pk  # where the pair is, and where Sofort looks


def test_R13_registrations_from_one_client_are_throttled(client, pool):
    for number in range(10):
        start(client, pool)
        weak = "12345678" if number else PASSWORD  # refused by the service, after counting
        response = client.post(DETAILS, details(pool, password=weak, password_again=weak))
    start(client, pool)
    response = client.post(DETAILS, details(pool, first_name="Max"))
    assert response.status_code == 429 and response["Retry-After"]
    assert Registration.objects.count() == 1  # the first one


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_R16_parallel_wrong_passwords_cannot_outrun_the_throttle(pool):

    registration = register(pool)

    def guess(number: int) -> str:
        try:
            registration_log_in(
                vorgangskennung=registration.vorgangskennung,
                password=f"guess-{number}",
                client=f"10.0.0.{number}",
            )
        except ServiceError as error:
            return error.code
        finally:
            connection.close()
        return "logged_in"

    with ThreadPoolExecutor(max_workers=10) as pool_of_threads:
        codes = list(pool_of_threads.map(guess, range(20)))
    assert codes.count("login_failed") == 5  # the password was checked five times, no more
    assert codes.count("throttled") == 15


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "client"),
    [
        (0, "192.0.2.7", "203.0.113.9", "192.0.2.7"),  # no proxy: the header is the client's
        (1, "10.0.0.1", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # what our proxy saw
        (1, "10.0.0.1", "", "10.0.0.1"),
        (0, "2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"),  # a household's network
        (0, "not an address", "", "unknown"),
    ],
)
def test_client_key_trusts_only_our_own_proxies(settings, rf, proxies, remote, forwarded, client):

    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_key(request) == client


def test_expired_attempt_counters_are_deleted(client, pool):

    registration = register(pool)
    log_in(client, registration, password="wrong-password-1")
    assert AttemptCounter.objects.count() == 2
    AttemptCounter.objects.update(window_ends=timezone.now() - dt.timedelta(seconds=1))
    assert attempts_expired_delete() == 2 and not AttemptCounter.objects.exists()


def test_R24_appointments_are_personal_nobody_else_can_take_them_over(client, pool):
    erika = assigned(pool)
    max_ = register(pool, first_name="Max", birth_date=dt.date(1948, 11, 2))
    pair = AppointmentPair.objects.get(holder=erika.holder)
    later = make_slot(pool.centre, pool.biontech, at(8))
    with pytest.raises(ServiceError):  # another person's holder cannot move Erika's pair
        pair_rebook(pair_id=pair.pk, holder=max_.holder, first_slot_id=later.pk)
    log_in(client, max_)
    page = client.get(ACCOUNT).content.decode()
    assert "Noch keine Termine" in page and "Erika" not in page
    # The account has no way to change the person's name: a form for it does not exist.
    assert 'name="first_name"' not in page and 'name="last_name"' not in page
