"""The citizen's pages of the codes flow, through Django's test client (the browser suite
walks the same flow in Chromium): R1 to R12 as a person meets them, and bad input."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from impftermin.booking.models import AppointmentPair, PairStatus, Slot
from impftermin.codes.models import PinRequest
from impftermin.codes.services import code_book_pair
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.regions.models import BookingMode
from tests.codes.helpers import pin_from_sms
from tests.factories import (
    at,
    make_district,
    make_postcode,
    make_region,
    make_slot,
    make_vaccine,
)

CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


@pytest.fixture
def place(world):
    make_postcode("48143", world.district)
    make_postcode("48565", world.other_district)
    return world


def adult_birth_date(years: int = 40) -> str:
    today = timezone.localdate()
    return f"{today.day:02d}.{today.month:02d}.{today.year - years}"


def get_codes(client, *, mobile="0151 11111111", email="family@example.org", postcode="48143"):
    """Walk R2 through the pages: postcode, age, PIN by SMS, link by e-mail → the codes."""
    assert client.post("/termin/", {"postcode": postcode}).status_code == 302
    assert client.post("/termin/alter/", {"birth_date": adult_birth_date()}).status_code == 302
    vaccine = client.get("/termin/pin/").context["form"].fields["vaccine"].choices[0][0]
    response = client.post("/termin/pin/", {"vaccine": vaccine, "mobile": mobile, "email": email})
    assert response.status_code == 302, response.context["form"].errors
    response = client.post("/termin/pin/eingeben/", {"pin": pin_from_sms()})
    assert "E-Mail" in response.content.decode()
    body = OutboundMessage.objects.filter(kind="email_verification").latest("id").body
    link = re.search(r"https?://\S+", body).group(0)
    assert client.post(re.sub(r"^https?://[^/]+", "", link)).status_code == 200
    mail = OutboundMessage.objects.filter(kind="booking_codes").latest("id").body
    return CODE_RE.findall(mail)


@pytest.fixture
def slots(place):
    first = make_slot(place.centre, place.biontech, at(5), capacity=2)
    later = make_slot(place.centre, place.biontech, at(6), capacity=2)
    second = make_slot(place.centre, place.biontech, at(27), capacity=4, released=False)
    return first, later, second


def nonce(client) -> str:
    """The booking's nonce, as the times page puts it in its form."""
    return client.session["codes_booking"]["value"]["nonce"]


def choose(client, slot, second=None, day=None):
    value = f"{slot.pk}-{second.pk}" if second else str(slot.pk)
    return client.post(
        "/termin/buchen/termine/",
        {
            "option": value,
            "tag": timezone.localdate(day or slot.start).isoformat(),
            "nonce": nonce(client),
        },
    )


# --- start, eligibility (R12) -------------------------------------------------------------


def test_R12_postcode_places_the_person_in_their_district(client, place):
    response = client.post("/termin/", {"postcode": " 48565 "})
    assert response.status_code == 302 and response["Location"].endswith("/termin/alter/")
    assert client.session["codes_flow"]["value"]["district"] == place.other_district.pk


def test_R12_postcode_spanning_two_districts_asks_which_one(client, place):
    make_postcode("48000", place.district, place.other_district)
    response = client.post("/termin/", {"postcode": "48000"})
    assert response.status_code == 200 and "Münster" in response.content.decode()
    response = client.post(
        "/termin/", {"postcode": "48000", "district": str(place.other_district.pk)}
    )
    assert client.session["codes_flow"]["value"]["district"] == place.other_district.pk


def test_R12_postcode_of_another_region_points_to_it(client, place):
    hessen = make_region(name="Hessen Test", booking_mode=BookingMode.ASSIGNMENT)
    make_postcode("35037", make_district(hessen, name="Marburg-Biedenkopf"))
    response = client.post("/termin/", {"postcode": "35037", "region": place.region.slug})
    assert response.status_code == 200
    assert "Hessen Test" in response.content.decode()
    # without a region chosen, the postcode leads there (it registers, not codes)
    response = client.post("/termin/", {"postcode": "35037"})
    assert "registrieren" in response.content.decode()


@pytest.mark.parametrize(
    ("postcode", "message"),
    [
        ("4814", "genau 5 Ziffern"),
        ("abcde", "genau 5 Ziffern"),
        ("<script>", "genau 5 Ziffern"),
        ("99999", "kennen wir nicht"),
        ("", "Bitte geben Sie Ihre Postleitzahl an"),
    ],
)
def test_malformed_postcodes_are_rejected_with_a_clear_message(client, place, postcode, message):
    response = client.post("/termin/", {"postcode": postcode})
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert 'href="#id_postcode"' in page  # the error summary links to the field
    assert 'aria-invalid="true"' in page
    assert "codes_flow" not in client.session


def test_eligibility_says_plainly_why_not(client, place):
    client.post("/termin/", {"postcode": "48143"})
    response = client.post("/termin/alter/", {"birth_date": adult_birth_date(years=10)})
    assert response.status_code == 200
    assert "erst ab 12 Jahren zugelassen" in response.content.decode()
    place.region.min_age = 80
    place.region.save()
    response = client.post("/termin/alter/", {"birth_date": adult_birth_date(years=70)})
    assert "nur Personen ab 80 Jahren" in response.content.decode()
    for bad in ("31.02.1950", "1950", "01.01.3000", "x" * 500):
        response = client.post("/termin/alter/", {"birth_date": bad})
        assert response.status_code == 200 and "Geburtsdatum" in response.content.decode()


def test_pages_of_the_flow_send_a_person_without_state_back_to_its_start(client, db):
    assert client.get("/termin/alter/")["Location"].endswith("/termin/")
    assert client.get("/termin/pin/")["Location"].endswith("/termin/")
    assert client.get("/termin/pin/eingeben/")["Location"].endswith("/termin/pin/")
    assert client.get("/termin/buchen/termine/")["Location"].endswith("/termin/buchen/")
    assert client.get("/termin/buchen/bestaetigung/")["Location"].endswith("/termin/buchen/")
    assert client.get("/termin/pruefen/termin/")["Location"].endswith("/termin/pruefen/")


# --- PIN and codes (R2, R3) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mobile", "email", "message"),
    [
        ("12345", "a@example.org", "gültige Mobilnummer"),
        ("0251 123456", "a@example.org", "nur an eine Mobilnummer"),
        ("0151 11111111", "not-an-address", "gültige E-Mail-Adresse"),
        ("+" + "9" * 60, "a@example.org", "Mobilnummer"),
    ],
)
def test_R2_malformed_mobile_numbers_and_addresses_are_rejected(
    client, place, mobile, email, message
):
    client.post("/termin/", {"postcode": "48143"})
    client.post("/termin/alter/", {"birth_date": adult_birth_date()})
    vaccine = place.biontech.pk
    response = client.post("/termin/pin/", {"vaccine": vaccine, "mobile": mobile, "email": email})
    assert response.status_code == 200 and message in response.content.decode()
    assert not PinRequest.objects.exists() and not OutboundMessage.objects.exists()


def test_R2_codes_arrive_after_pin_and_link_and_a_wrong_pin_counts(client, place):
    client.post("/termin/", {"postcode": "48143"})
    client.post("/termin/alter/", {"birth_date": adult_birth_date()})
    client.post(
        "/termin/pin/",
        {"vaccine": place.biontech.pk, "mobile": "0151 11111111", "email": "a@example.org"},
    )
    wrong = "000000" if pin_from_sms() != "000000" else "111111"
    response = client.post("/termin/pin/eingeben/", {"pin": wrong})
    assert "noch 4 Versuche" in response.content.decode()
    response = client.post("/termin/pin/eingeben/", {"pin": "12ab"})
    assert "6 Ziffern" in response.content.decode()
    assert get_codes(client)  # a second person with the same mobile and e-mail (R12)
    assert PinRequest.objects.get(sequence=2).vaccine == place.biontech


def test_R3_fourth_pin_for_the_same_mobile_names_the_day_it_is_possible_again(client, place):
    for _ in range(3):
        get_codes(client)
    response = client.post(
        "/termin/pin/",
        {"vaccine": place.biontech.pk, "mobile": "+49 151 11111111", "email": "a@example.org"},
    )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert "3 PINs" in response.content.decode()
    assert tomorrow.strftime("%d.%m.%Y") in response.content.decode()


# --- booking, check, rebook, cancel (R4, R6, R7, R10, R11) ----------------------------------


def test_R10_book_check_rebook_cancel_through_the_pages(client, place, slots):
    first, later, second = slots
    codes = get_codes(client)
    response = client.post("/termin/buchen/", {"code_1": codes[0].lower(), "postcode": "48143"})
    assert response.status_code == 302
    page = client.get("/termin/buchen/termine/").content.decode()
    assert f'value="{first.pk}-{second.pk}"' in page
    response = choose(client, first, second)
    assert response["Location"].endswith("/termin/buchen/bestaetigung/")
    page = client.get(response["Location"]).content.decode()
    assert "Ausdruck oder QR-Code brauchen Sie nicht" in page  # R10
    mail = OutboundMessage.objects.get(kind="booking_confirmation")
    assert mail.attachment_type == "text/calendar" and mail.attachment.count("BEGIN:VEVENT") == 2
    assert "kostenlos" in mail.body and place.centre.street in mail.body

    # check with the other code (R4, R10)
    client.post("/termin/pruefen/", {"code": codes[1].replace("-", "")})
    page = client.get("/termin/pruefen/termin/").content.decode()
    assert place.centre.name in page and "Termin verschieben" in page

    # rebook: the new pair is claimed before the old one is given up
    assert client.post("/termin/pruefen/termin/", {"action": "rebook"}).status_code == 302
    later_second = make_slot(place.centre, place.biontech, at(28), released=False)
    assert choose(client, later, later_second).status_code == 302
    pair = AppointmentPair.objects.get(status=PairStatus.BOOKED)
    assert {a.slot_id for a in pair.appointments.all()} == {later.pk, later_second.pk}
    assert OutboundMessage.objects.filter(kind="booking_rebooked").count() == 1
    first.refresh_from_db()
    assert first.booked == 0

    # cancel: asked once more, then the seats are free at once
    assert "wirklich stornieren" in client.get("/termin/pruefen/stornieren/").content.decode()
    response = client.post("/termin/pruefen/stornieren/")
    assert response.status_code == 200 and "storniert" in response.content.decode()
    assert set(Slot.objects.values_list("booked", flat=True)) == {0}
    cancelled = OutboundMessage.objects.get(kind="booking_cancelled")
    assert "METHOD:CANCEL" in cancelled.attachment


def test_R7_a_couple_books_side_by_side_with_two_codes(client, place, slots):
    first, _later, second = slots
    mine, theirs = get_codes(client)[0], get_codes(client, email="partner@example.org")[0]
    client.post("/termin/buchen/", {"code_1": mine, "code_2": theirs, "postcode": "48143"})
    assert "2 Personen" in client.get("/termin/buchen/termine/").content.decode()
    assert choose(client, first, second).status_code == 302
    pairs = AppointmentPair.objects.filter(status=PairStatus.BOOKED)
    assert pairs.count() == 2 and len({p.party for p in pairs}) == 1
    recipients = set(
        OutboundMessage.objects.filter(kind="booking_confirmation").values_list(
            "recipient", flat=True
        )
    )
    assert recipients == {"family@example.org", "partner@example.org"}


def test_R7_the_same_person_twice_is_refused(client, place, slots):
    codes = get_codes(client)
    response = client.post(
        "/termin/buchen/", {"code_1": codes[0], "code_2": codes[1], "postcode": "48143"}
    )
    assert "nur einmal gebucht" in response.content.decode()


def test_R4_a_code_with_a_live_booking_cannot_book_again(client, place, slots):
    first, _later, second = slots
    codes = get_codes(client)
    client.post("/termin/buchen/", {"code_1": codes[0], "postcode": "48143"})
    choose(client, first, second)
    response = client.post("/termin/buchen/", {"code_1": codes[1], "postcode": "48143"})
    assert "bereits ein Terminpaar gebucht" in response.content.decode()
    assert AppointmentPair.objects.count() == 1


def test_R11_a_lost_race_offers_the_next_free_times(client, place, slots):
    first, later, second = slots
    codes = get_codes(client)
    client.post("/termin/buchen/", {"code_1": codes[0], "postcode": "48143"})
    client.get("/termin/buchen/termine/")
    Slot.objects.filter(pk=first.pk).update(booked=2)  # someone else was faster
    response = choose(client, first, second)
    page = response.content.decode()
    assert response.status_code == 200
    assert "gerade von jemand anderem gebucht" in page
    assert "bereits gebucht" not in page.lower()
    assert f'value="{later.pk}-{second.pk}"' in page
    assert not AppointmentPair.objects.exists()


def test_R6_without_a_free_second_the_first_is_booked_and_the_page_says_so(client, place):
    first = make_slot(place.centre, place.biontech, at(5))
    codes = get_codes(client)
    client.post("/termin/buchen/", {"code_1": codes[0], "postcode": "48143"})
    assert "im Impfzentrum" in client.get("/termin/buchen/termine/").content.decode()
    assert choose(client, first).status_code == 302
    page = client.get("/termin/buchen/bestaetigung/").content.decode()
    assert "bei der 1. Impfung im Impfzentrum" in page
    assert AppointmentPair.objects.get().second_dose_at_centre


def test_R12_an_unknown_postcode_does_not_reject_the_booking(client, place, slots):
    codes = get_codes(client)
    response = client.post("/termin/buchen/", {"code_1": codes[0], "postcode": "48999"})
    assert response.status_code == 200 and "In welchem Kreis" in response.content.decode()
    response = client.post(
        "/termin/buchen/",
        {"code_1": codes[0], "postcode": "48999", "district": str(place.district.pk)},
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "code", ["ABCD", "ABCD-EFGH-IJK0", "x" * 100, "'; DROP TABLE codes_bookingcode; --"]
)
def test_R4_malformed_or_unknown_codes_get_a_clear_message(client, place, code):
    for url, field in (("/termin/buchen/", "code_1"), ("/termin/pruefen/", "code")):
        response = client.post(url, {field: code, "postcode": "48143"})
        page = response.content.decode()
        assert response.status_code == 200
        assert "12 Zeichen" in page or "kennen wir nicht" in page


def test_R4_unknown_well_formed_code_is_not_found(client, place):
    response = client.post("/termin/pruefen/", {"code": "ABCD-EFGH-JKMN"})
    assert "kennen wir nicht" in response.content.decode()


def test_a_tampered_slot_choice_changes_nothing(client, place, slots):
    codes = get_codes(client)
    client.post("/termin/buchen/", {"code_1": codes[0], "postcode": "48143"})
    other = make_slot(place.other_centre, place.biontech, at(5))  # another district (R9)
    for option in ("abc", "1-2-3", "9" * 30, str(other.pk), ""):
        response = client.post(
            "/termin/buchen/termine/", {"option": option, "nonce": nonce(client)}
        )
        assert response.status_code == 200
    assert not AppointmentPair.objects.exists()
    assert set(Slot.objects.values_list("booked", flat=True)) == {0}


def test_pages_are_in_english_with_the_lang_attribute(client, place):
    response = client.get("/en/termin/")
    page = response.content.decode()
    assert '<html lang="en">' in page and "Where do you live?" in page
    response = client.post("/en/termin/", {"postcode": "1"})
    assert "exactly 5 digits" in response.content.decode()


# --- findings of the review: vaccine, stale pages, session ------------------------------------


def test_codes_book_only_the_vaccine_chosen_after_the_eligibility_check(client, place, slots):
    first, _later, second = slots
    other = make_vaccine("L921")
    foreign = make_slot(place.centre, other, at(5, 12))
    codes = get_codes(client)  # chosen: BioNTech (the only one offered)
    client.post("/termin/buchen/", {"code_1": codes[0], "postcode": "48143"})
    response = choose(client, foreign)
    assert response.status_code == 200 and "anderen Impfstoff" in response.content.decode()
    assert not AppointmentPair.objects.exists()
    with pytest.raises(ServiceError) as error:
        code_book_pair(code=codes[0], district_id=place.district.pk, first_slot_id=foreign.pk)
    assert error.value.code == "wrong_vaccine"
    assert choose(client, first, second).status_code == 302


def test_a_times_page_of_an_older_booking_cannot_book_for_a_newer_one(client, place, slots):
    first, _later, second = slots
    codes = get_codes(client)
    client.post("/termin/buchen/", {"code_1": codes[0], "postcode": "48143"})
    stale = nonce(client)
    client.post("/termin/buchen/", {"code_1": codes[1], "postcode": "48143"})  # a second tab
    response = client.post(
        "/termin/buchen/termine/", {"option": f"{first.pk}-{second.pk}", "nonce": stale}
    )
    assert response.status_code == 302 and not AppointmentPair.objects.exists()


def test_cancelling_leaves_no_code_in_the_session_and_stale_pages_move_on(client, place, slots):
    first, _later, second = slots
    codes = get_codes(client)
    client.post("/termin/buchen/", {"code_1": codes[0], "postcode": "48143"})
    choose(client, first, second)
    client.post("/termin/pruefen/", {"code": codes[0]})
    client.post("/termin/pruefen/stornieren/")
    assert "codes_check" not in client.session and "codes_booking" not in client.session
    assert client.get("/termin/buchen/bestaetigung/")["Location"].endswith("/termin/buchen/")


def test_the_session_forgets_the_codes_after_an_hour_and_with_the_browser(client, place, slots):
    codes = get_codes(client)
    client.post("/termin/pruefen/", {"code": codes[0]})
    assert client.session.get_expire_at_browser_close()
    session = client.session
    session["codes_check"]["until"] = 0
    session.save()
    assert client.get("/termin/pruefen/termin/")["Location"].endswith("/termin/pruefen/")
    session = client.session
    session["codes_check"] = ["tampered"]
    session.save()
    assert client.get("/termin/pruefen/termin/")["Location"].endswith("/termin/pruefen/")


def test_an_error_of_the_third_code_is_shown_at_the_third_field(client, place, slots):
    codes = get_codes(client)
    response = client.post(
        "/termin/buchen/", {"code_1": codes[0], "code_3": "ABCD-EFGH-JKMN", "postcode": "48143"}
    )
    form = response.context["form"]
    assert "code_3" in form.errors and "code_2" not in form.errors


def test_rebook_is_not_offered_too_late_and_the_page_says_why(client, place):
    soon = make_slot(place.centre, place.biontech, at(2))
    make_slot(place.centre, place.biontech, at(24), released=False)
    codes = get_codes(client)
    code_book_pair(code=codes[0], district_id=place.district.pk, first_slot_id=soon.pk)
    client.post("/termin/pruefen/", {"code": codes[0]})
    page = client.get("/termin/pruefen/termin/").content.decode()
    assert "Termin verschieben" not in page and "Umbuchen ist nur bis 3 Tage" in page
