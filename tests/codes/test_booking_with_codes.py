"""Booking, checking, rebooking and cancelling with booking codes (R4, R7, R9, R10, R12)."""

import pytest

from impftermin.booking.models import PairStatus, Slot
from impftermin.codes.services import (
    code_book_pair,
    code_booking,
    code_cancel,
    code_rebook,
    codes_book_adjacent,
)
from impftermin.core.errors import ServiceError
from impftermin.regions.selectors import districts_for_postcode
from tests.codes.helpers import codes_for
from tests.factories import at, make_district, make_postcode, make_region, make_slot


@pytest.fixture
def slots(world):
    first = make_slot(world.centre, world.biontech, at(5), capacity=2)
    second = make_slot(world.centre, world.biontech, at(26), capacity=2, released=False)
    return first, second


def test_R4_either_code_books_checks_and_cancels_the_persons_pair(world, slots):
    first_code, second_code = codes_for(world, "0151 11111111")
    result = code_book_pair(
        code=first_code.lower(), district_id=world.district.pk, first_slot_id=slots[0].pk
    )
    assert result.booked
    assert code_booking(code=second_code.replace("-", "")) == result.pairs[0]  # R10
    code_cancel(code=second_code)
    assert code_booking(code=first_code) is None
    assert set(Slot.objects.values_list("booked", flat=True)) == {0}


def test_R4_a_code_used_for_a_second_live_booking_is_refused(world, slots):
    first_code, second_code = codes_for(world, "0151 11111111")
    code_book_pair(code=first_code, district_id=world.district.pk, first_slot_id=slots[0].pk)
    other = make_slot(world.centre, world.biontech, at(6))
    with pytest.raises(ServiceError) as error:
        code_book_pair(code=second_code, district_id=world.district.pk, first_slot_id=other.pk)
    assert error.value.code == "holder_has_live_pair"


def test_R4_rebook_with_the_code(world, slots):
    (code, _) = codes_for(world, "0151 11111111")
    code_book_pair(code=code, district_id=world.district.pk, first_slot_id=slots[0].pk)
    later = make_slot(world.centre, world.biontech, at(9))
    make_slot(world.centre, world.biontech, at(30), released=False)
    result = code_rebook(code=code, first_slot_id=later.pk)
    assert result.booked
    assert code_booking(code=code).appointments.get(dose=1).slot_id == later.pk


def test_R4_without_a_booking_cancel_and_rebook_say_so(world, slots):
    (code, _) = codes_for(world, "0151 11111111")
    with pytest.raises(ServiceError) as error:
        code_cancel(code=code)
    assert error.value.code == "no_booking"


def test_R7_a_couple_books_side_by_side_with_one_code_each(world, slots):
    mine = codes_for(world, "0151 11111111")
    yours = codes_for(world, "0151 22222222")
    result = codes_book_adjacent(
        codes=[mine[0], yours[0]], district_id=world.district.pk, first_slot_id=slots[0].pk
    )
    a, b = result.pairs
    assert a.party == b.party and a.status == b.status == PairStatus.BOOKED


def test_R7_the_same_person_twice_in_a_couple_is_refused(world, slots):
    mine = codes_for(world, "0151 11111111")
    with pytest.raises(ServiceError) as error:
        codes_book_adjacent(codes=mine, district_id=world.district.pk, first_slot_id=slots[0].pk)
    assert error.value.code == "code_repeated"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ABCD-EFGH-JKMN", "code_unknown"), ("ABCD-EFGH-JK0N", "code_format"), (None, "code_format")],
    ids=["unknown", "look-alike", "none"],
)
def test_R4_wrong_or_malformed_codes_are_refused_clearly(world, slots, code, expected):
    with pytest.raises(ServiceError) as error:
        code_book_pair(code=code, district_id=world.district.pk, first_slot_id=slots[0].pk)
    assert error.value.code == expected and error.value.message


def test_R9_a_district_of_another_region_is_refused(world, slots):
    (code, _) = codes_for(world, "0151 11111111")
    foreign = make_district(make_region(name="Hessen", slug="he", bundesland="HE"))
    with pytest.raises(ServiceError) as error:
        code_book_pair(code=code, district_id=foreign.pk, first_slot_id=slots[0].pk)
    assert error.value.code == "district_not_in_region"


def test_R12_postcode_places_the_person_in_district_and_region(world):
    make_postcode("48143", world.district)
    make_postcode("48565", world.other_district, world.district)  # spans two districts
    assert districts_for_postcode(region_id=world.region.pk, postcode="48143") == [world.district]
    assert set(districts_for_postcode(region_id=world.region.pk, postcode="48565")) == {
        world.district,
        world.other_district,
    }


def test_R12_postcode_of_another_region_points_to_the_right_one(world):
    hessen = make_region(name="Hessen", slug="he", bundesland="HE")
    make_postcode("60311", make_district(hessen, name="Frankfurt am Main"))
    with pytest.raises(ServiceError) as error:
        districts_for_postcode(region_id=world.region.pk, postcode="60311")
    assert error.value.code == "postcode_other_region" and "Hessen" in error.value.message


@pytest.mark.parametrize(
    ("postcode", "code"),
    [
        ("4814", "postcode_invalid"),
        ("48a43", "postcode_invalid"),
        (None, "postcode_invalid"),
        ("99999", "postcode_unknown"),
    ],
    ids=["four-digits", "letter", "none", "unknown"],
)
def test_R12_malformed_or_unknown_postcodes_are_refused_clearly(world, postcode, code):
    with pytest.raises(ServiceError) as error:
        districts_for_postcode(region_id=world.region.pk, postcode=postcode)
    assert error.value.code == code
