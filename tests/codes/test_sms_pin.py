"""SMS PIN (R2, R3): normalised mobile numbers, at most 3 PINs per mobile and day —
enforced in the database, also in parallel — 10 minutes, 5 wrong tries."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from impftermin.codes.models import PinRequest
from impftermin.codes.services import keyed_hash, normalise_mobile, pin_request, pin_verify
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.regions.models import BookingMode
from tests.codes.helpers import pin_from_sms
from tests.factories import make_region

MOBILE = "+4915112345678"


@pytest.fixture
def region(db):
    return make_region(name="Westfalen-Lippe", slug="wl", booking_mode=BookingMode.CODES)


def request_pin(region, mobile="0151 12345678", email="person@example.org", **kwargs):
    return pin_request(region_id=region.pk, mobile=mobile, email=email, **kwargs)


def test_R2_pin_is_sent_by_sms_and_only_its_hash_is_stored(region):
    sent = request_pin(region)
    message = OutboundMessage.objects.get(kind="sms_pin")
    assert message.channel == "sms" and message.recipient == MOBILE
    pin = pin_from_sms()
    stored = PinRequest.objects.get()
    assert pin not in stored.pin_hash and sent.token not in stored.token_hash
    assert stored.expires_at - timezone.now() <= dt.timedelta(minutes=10)
    assert pin_verify(token=sent.token, pin=pin).verified_at is not None


def test_R2_pin_sms_in_english_when_asked(region):
    request_pin(region, language="en")
    assert "Your PIN" in OutboundMessage.objects.get().body


@pytest.mark.parametrize(
    "raw", ["0151 12345678", "+49 151 12345678", "0049 (151) 1234-5678", "015112345678"]
)
def test_R2_german_mobile_numbers_are_normalised(raw):
    assert normalise_mobile(raw) == MOBILE


def test_R2_international_mobile_numbers_are_accepted():
    assert normalise_mobile("+43 664 1234567") == "+436641234567"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("abc", "mobile_invalid"),
        ("", "mobile_invalid"),
        (None, "mobile_invalid"),
        ("+49 151", "mobile_invalid"),
        ("0151 1234567890123456789", "mobile_invalid"),
        ("0211 1234567", "mobile_not_mobile"),
    ],
    ids=["letters", "empty", "none", "too-short", "too-long", "landline"],
)
def test_R2_malformed_phone_numbers_are_refused_clearly(region, raw, code):
    with pytest.raises(ServiceError) as error:
        request_pin(region, mobile=raw)
    assert error.value.code == code and error.value.message
    assert not PinRequest.objects.exists() and not OutboundMessage.objects.exists()


@pytest.mark.parametrize(
    "email", ["", "no-at-sign", "a@", None], ids=["empty", "no-at", "no-domain", "none"]
)
def test_R2_malformed_email_is_refused(region, email):
    with pytest.raises(ServiceError) as error:
        request_pin(region, email=email)
    assert error.value.code == "email_invalid"
    assert not PinRequest.objects.exists()


def test_R12_one_email_address_for_several_persons(region):
    request_pin(region, mobile="0151 11111111", email="family@example.org")
    request_pin(region, mobile="0151 22222222", email="family@example.org")
    assert PinRequest.objects.filter(email="family@example.org").count() == 2


def test_R3_fourth_pin_same_day_is_refused_naming_when_it_is_possible_again(region):
    for _ in range(3):
        request_pin(region)
    with pytest.raises(ServiceError) as error:
        request_pin(region)
    assert error.value.code == "pin_limit_reached"
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert tomorrow.strftime("%d.%m.%Y") in error.value.message
    assert PinRequest.objects.count() == 3 and OutboundMessage.objects.count() == 3


def test_R3_the_limit_is_per_calendar_day(region):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    for _ in range(3):
        request_pin(region)
    PinRequest.objects.update(day=yesterday)
    assert request_pin(region).token


def test_R3_the_limit_is_the_regions(region):
    region.pins_per_mobile_per_day = 1
    region.save()
    request_pin(region)
    with pytest.raises(ServiceError):
        request_pin(region)


@pytest.mark.postgres
def test_R3_fourth_pin_same_day_is_refused_even_when_requested_in_parallel(
    transactional_db, region
):
    barrier = threading.Barrier(12)

    def attempt(_i):
        try:
            barrier.wait(timeout=30)
            request_pin(region)
            return "sent"
        except ServiceError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    assert outcomes.count("sent") == 3
    assert set(outcomes) == {"sent", "pin_limit_reached"}
    assert PinRequest.objects.count() == 3 and OutboundMessage.objects.count() == 3


def test_R2_wrong_pin_counts_and_says_how_many_tries_are_left(region):
    sent = request_pin(region)
    wrong = "000000" if pin_from_sms() != "000000" else "111111"
    with pytest.raises(ServiceError) as error:
        pin_verify(token=sent.token, pin=wrong)
    assert error.value.code == "pin_wrong" and "4" in error.value.message
    assert PinRequest.objects.get().failed_attempts == 1


def test_R2_five_wrong_pins_void_the_pin(region):
    sent = request_pin(region)
    right = pin_from_sms()
    wrong = "000000" if right != "000000" else "111111"
    codes = []
    for _ in range(5):
        with pytest.raises(ServiceError) as error:
            pin_verify(token=sent.token, pin=wrong)
        codes.append(error.value.code)
    assert codes == ["pin_wrong"] * 4 + ["pin_void"]
    with pytest.raises(ServiceError) as error:
        pin_verify(token=sent.token, pin=right)
    assert error.value.code == "pin_void"


def test_R2_expired_pin_is_refused(region):
    sent = request_pin(region)
    PinRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(ServiceError) as error:
        pin_verify(token=sent.token, pin=pin_from_sms())
    assert error.value.code == "pin_expired"


def test_R2_a_pin_works_once(region):
    sent = request_pin(region)
    pin = pin_from_sms()
    pin_verify(token=sent.token, pin=pin)
    with pytest.raises(ServiceError) as error:
        pin_verify(token=sent.token, pin=pin)
    assert error.value.code == "pin_used"


@pytest.mark.parametrize(
    ("token", "pin", "code"),
    [
        ("nonsense", "123456", "pin_unknown"),
        (None, "123456", "pin_unknown"),
        ("x" * 500, "123456", "pin_unknown"),
        ("VALID", "12345", "pin_format"),
        ("VALID", "12a456", "pin_format"),
        ("VALID", "١٢٣٤٥٦", "pin_format"),
        ("VALID", None, "pin_format"),
    ],
    ids=[
        "unknown-token",
        "no-token",
        "huge-token",
        "five-digits",
        "letter",
        "arabic-digits",
        "no-pin",
    ],
)
def test_R2_malformed_pin_input_is_refused_and_costs_no_try(region, token, pin, code):
    sent = request_pin(region)
    with pytest.raises(ServiceError) as error:
        pin_verify(token=sent.token if token == "VALID" else token, pin=pin)
    assert error.value.code == code
    assert PinRequest.objects.get().failed_attempts == 0


def test_pins_only_in_codes_mode_regions(db):
    hessen = make_region(
        name="Hessen", slug="he", booking_mode=BookingMode.ASSIGNMENT, bundesland="HE"
    )
    with pytest.raises(ServiceError) as error:
        pin_request(region_id=hessen.pk, mobile="0151 12345678", email="a@example.org")
    assert error.value.code == "unknown_region"


def test_keyed_hash_depends_on_purpose_and_value():
    assert keyed_hash("pin", "1") != keyed_hash("pin", "2") != keyed_hash("token", "1")
