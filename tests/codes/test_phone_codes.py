"""Booking codes for the phone channel (R1): issued without SMS PIN, e-mail optional, and
a phone booking that is all or nothing."""

from __future__ import annotations

import pytest

from impftermin.booking.models import AppointmentPair
from impftermin.codes.models import BookingCode, CodeSet
from impftermin.codes.services import code_set_for, code_set_issue_by_phone, codes_book_by_phone
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.regions.models import BookingMode
from tests.factories import at, make_region, make_slot


def test_R1_codes_by_phone_need_no_pin_and_send_nothing(world):
    issued = code_set_issue_by_phone(region_id=world.region.pk, vaccine_id=world.biontech.pk)
    assert len(issued.codes) == 2 and len(set(issued.codes)) == 2
    assert code_set_for(issued.codes[1]) == issued.code_set
    code_set = issued.code_set
    assert (code_set.channel, code_set.pin_request, code_set.email) == ("phone", None, "")
    assert code_set.vaccine == world.biontech and not code_set.single_dose
    assert not OutboundMessage.objects.exists()


def test_R1_a_single_dose_vaccine_gets_one_code(world):
    issued = code_set_issue_by_phone(region_id=world.region.pk, vaccine_id=world.janssen.pk)
    assert len(issued.codes) == 1 and issued.code_set.single_dose


def test_phone_codes_refuse_a_bad_address_and_an_assignment_region(world):
    with pytest.raises(ServiceError) as error:
        code_set_issue_by_phone(
            region_id=world.region.pk, vaccine_id=world.biontech.pk, email="not-an-address"
        )
    assert error.value.code == "email_invalid"
    hessen = make_region(name="Hessen Test", slug="he-test", booking_mode=BookingMode.ASSIGNMENT)
    with pytest.raises(ServiceError):
        code_set_issue_by_phone(region_id=hessen.pk, vaccine_id=world.biontech.pk)
    assert not CodeSet.objects.exists()


def test_R11_a_lost_phone_booking_leaves_no_codes_behind(world):
    full = make_slot(world.centre, world.biontech, at(5), capacity=1, booked=1)
    make_slot(world.centre, world.biontech, at(27), capacity=4, released=False)
    free = make_slot(world.centre, world.biontech, at(5, 11), capacity=2)
    booked = codes_book_by_phone(
        region_id=world.region.pk,
        vaccine_id=world.biontech.pk,
        party_size=2,
        district_id=world.district.pk,
        first_slot_id=full.pk,
    )
    assert not booked.result.booked and booked.people == []
    assert free.pk in [o.first_slot_id for o in booked.result.alternatives]
    assert not CodeSet.objects.exists() and not BookingCode.objects.exists()
    assert not AppointmentPair.objects.exists()
