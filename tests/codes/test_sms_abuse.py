"""SMS pumping (issue 9): PINs only to allowed countries, not twice to one number within
the cooldown, and not beyond the service's hourly and daily budget, which alerts
operations once when it is reached. Nothing is sent when refused."""

import pytest

from impftermin.codes.services import pin_request
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.regions.models import BookingMode
from tests.factories import make_region


@pytest.fixture
def region(db):
    return make_region(name="Westfalen-Lippe", slug="wl", booking_mode=BookingMode.CODES)


def request_pin(region, mobile):
    return pin_request(region_id=region.pk, mobile=mobile, email="person@example.org")


@pytest.mark.parametrize("mobile", ["+44 7700 900123", "+1 202 555 0172", "+7 912 345 67 89"])
def test_R_a_blocked_country_gets_no_sms(region, mobile):
    with pytest.raises(ServiceError) as error:
        request_pin(region, mobile)
    assert error.value.code in ("mobile_country_not_allowed", "mobile_invalid", "mobile_not_mobile")
    assert not OutboundMessage.objects.filter(kind="sms_pin").exists()


def test_R_a_neighbouring_country_is_allowed_and_the_list_is_configurable(region, settings):
    request_pin(region, "+43 664 1234567")  # Austria
    settings.SMS_ALLOWED_COUNTRIES = ["DE"]
    with pytest.raises(ServiceError) as error:
        request_pin(region, "+43 664 1234568")
    assert error.value.code == "mobile_country_not_allowed"
    assert OutboundMessage.objects.filter(kind="sms_pin").count() == 1


def test_R_a_second_pin_within_the_cooldown_is_refused_with_the_wait(region, settings):
    settings.SMS_PIN_COOLDOWN_SECONDS = 60
    request_pin(region, "+4915112345678")
    with pytest.raises(ServiceError) as error:
        request_pin(region, "+4915112345678")
    assert error.value.code == "pin_cooldown" and 1 <= error.value.params["retry_after"] <= 60
    request_pin(region, "+4915112345679")  # another number is not held up
    assert OutboundMessage.objects.filter(kind="sms_pin").count() == 2


def test_R_the_sms_budget_stops_sending_and_alerts_operations_once(region, settings):
    settings.SMS_BUDGET_PER_HOUR = 2
    settings.OPERATIONS_EMAIL = "betrieb@example.org"
    request_pin(region, "+4915112345671")
    request_pin(region, "+4915112345672")
    for mobile in ("+4915112345673", "+4915112345674"):
        with pytest.raises(ServiceError) as error:
            request_pin(region, mobile)
        assert error.value.code == "sms_budget_spent" and error.value.params["retry_after"] > 0
    assert OutboundMessage.objects.filter(kind="sms_pin").count() == 2
    alerts = OutboundMessage.objects.filter(kind="sms_budget_alert")
    assert [a.recipient for a in alerts] == ["betrieb@example.org"]
