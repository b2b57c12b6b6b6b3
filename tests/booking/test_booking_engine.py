"""The booking engine's rules, failure paths and bad input (any database)."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from impftermin.booking import services
from impftermin.booking.models import (
    AppointmentPair,
    AppointmentStatus,
    PairStatus,
    Slot,
)
from impftermin.booking.selectors import free_pair_options
from impftermin.core.errors import ServiceError
from tests.booking.helpers import book, snapshot
from tests.factories import at, make_delivery, make_district, make_region, make_slot


@pytest.fixture
def pair_slots(world):
    """A released first-dose slot in 5 days and second-dose slots 21 and 28 days later."""
    first = make_slot(world.centre, world.biontech, at(5), capacity=2)
    second = make_slot(world.centre, world.biontech, at(26), capacity=2, released=False)
    later_second = make_slot(world.centre, world.biontech, at(33), capacity=2, released=False)
    return first, second, later_second


def refresh(*slots):
    for slot in slots:
        slot.refresh_from_db()


# --- booking a pair ------------------------------------------------------------------------


def test_pair_is_booked_with_both_appointments_inside_the_interval(world, pair_slots):
    first, second, _ = pair_slots
    result = book(world, "code:A", first, second)
    assert result.booked and not result.alternatives
    pair = result.pairs[0]
    assert pair.status == PairStatus.BOOKED
    assert [(a.dose, a.slot_id) for a in pair.appointments.order_by("dose")] == [
        (1, first.pk),
        (2, second.pk),
    ]
    refresh(first, second)
    assert (first.booked, second.booked) == (1, 1)


def test_second_dose_is_chosen_automatically_when_not_given(world, pair_slots):
    first, second, _ = pair_slots
    pair = book(world, "code:A", first).pairs[0]
    assert pair.appointments.get(dose=2).slot_id == second.pk


def test_second_dose_may_lie_beyond_the_release_window(world, pair_slots):
    first, second, _ = pair_slots
    assert not second.released
    assert book(world, "code:A", first, second).booked


def test_single_dose_vaccine_books_one_appointment(world):
    slot = make_slot(world.centre, world.janssen, at(3))
    pair = book(world, "code:J", slot).pairs[0]
    assert pair.appointments.count() == 1
    assert not pair.second_dose_at_centre


def test_R6_without_a_free_second_the_pair_is_not_half_booked(world):
    first = make_slot(world.centre, world.biontech, at(5))
    before = snapshot()
    result = book(world, "code:A", first)
    assert not result.booked
    assert snapshot() == before


def test_R6_first_appointment_alone_when_allowed_and_second_given_at_centre(world):
    first = make_slot(world.centre, world.biontech, at(5))
    result = book(world, "code:A", first, allow_first_only=True)
    pair = result.pairs[0]
    assert pair.second_dose_at_centre
    assert list(pair.appointments.values_list("dose", flat=True)) == [1]


def test_R9_a_slot_in_another_district_is_refused(world, pair_slots):
    other = make_slot(world.other_centre, world.biontech, at(5))
    make_slot(world.other_centre, world.biontech, at(26))
    before = snapshot()
    with pytest.raises(ServiceError) as error:
        book(world, "code:A", other)
    assert error.value.code == "wrong_district"
    assert snapshot() == before


def test_R11_a_full_slot_is_no_error_but_the_next_free_options(world, pair_slots):
    first, second, later_second = pair_slots
    Slot.objects.filter(pk=first.pk).update(booked=F("capacity"))
    next_first = make_slot(world.centre, world.biontech, at(6))
    result = book(world, "code:A", first, second)
    assert not result.booked
    assert [o.first_slot_id for o in result.alternatives] == [next_first.pk]
    assert result.alternatives[0].second_slot_id in {second.pk, later_second.pk}


def test_R11_a_taken_second_slot_is_replaced_by_the_next_one_in_the_interval(world, pair_slots):
    first, second, later_second = pair_slots
    Slot.objects.filter(pk=second.pk).update(booked=F("capacity"))
    pair = book(world, "code:A", first, second).pairs[0]
    assert pair.appointments.get(dose=2).slot_id == later_second.pk


def test_one_live_pair_per_holder(world, pair_slots):
    first, second, _ = pair_slots
    book(world, "code:A", first, second)
    before = snapshot()
    with pytest.raises(ServiceError) as error:
        book(world, "code:A", first, second)
    assert error.value.code == "holder_has_live_pair"
    assert snapshot() == before


def test_database_refuses_a_second_live_pair_for_a_holder(world, pair_slots):
    first, _, _ = pair_slots
    book(world, "code:A", first, allow_first_only=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentPair.objects.create(
            holder="code:A", vaccine=world.biontech, centre=world.centre, channel="online"
        )


def test_database_refuses_to_overbook_a_slot(world, pair_slots):
    first, _, _ = pair_slots
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=first.pk).update(booked=F("capacity") + 1)


def test_unreleased_first_slot_is_not_bookable(world, pair_slots):
    _, second, _ = pair_slots
    with pytest.raises(ServiceError) as error:
        book(world, "code:A", second)
    assert error.value.code == "slot_not_released"


# --- couples and households (R7) ----------------------------------------------------------


def test_R7_couple_gets_pairs_side_by_side_at_the_same_times(world, pair_slots):
    first, second, _ = pair_slots
    result = services.pairs_book_adjacent(
        holders=["code:A", "code:B"], district_id=world.district.pk, first_slot_id=first.pk
    )
    a, b = result.pairs
    assert a.party == b.party and a.party is not None
    slots_of = lambda p: list(p.appointments.order_by("dose").values_list("slot_id", flat=True))  # noqa: E731
    assert slots_of(a) == slots_of(b) == [first.pk, second.pk]
    refresh(first, second)
    assert (first.booked, second.booked) == (2, 2)


def test_R7_household_is_booked_for_everyone_or_no_one(world, pair_slots):
    first, _, _ = pair_slots  # 2 seats, 3 people
    make_slot(world.centre, world.biontech, at(7), capacity=5)
    make_slot(world.centre, world.biontech, at(28), capacity=5)
    before = snapshot()
    result = services.pairs_book_adjacent(
        holders=["h1", "h2", "h3"], district_id=world.district.pk, first_slot_id=first.pk
    )
    assert not result.booked
    assert snapshot() == before
    assert result.alternatives, "a slot with room for three is offered instead"


def test_R7_a_person_twice_in_one_household_is_refused(world, pair_slots):
    first, _, _ = pair_slots
    with pytest.raises(ServiceError) as error:
        services.pairs_book_adjacent(
            holders=["h1", "h1"], district_id=world.district.pk, first_slot_id=first.pk
        )
    assert error.value.code == "holder_repeated"


# --- cancel and rebook ---------------------------------------------------------------------


def test_cancel_returns_the_seats_at_once(world, pair_slots):
    first, second, _ = pair_slots
    pair = book(world, "code:A", first, second).pairs[0]
    services.pair_cancel(pair_id=pair.pk, holder="code:A")
    refresh(first, second)
    assert (first.booked, second.booked) == (0, 0)
    pair.refresh_from_db()
    assert pair.status == PairStatus.CANCELLED
    assert set(pair.appointments.values_list("status", flat=True)) == {AppointmentStatus.CANCELLED}
    # the holder may book again
    assert book(world, "code:A", first, second).booked


def test_cancel_twice_is_refused_and_changes_nothing(world, pair_slots):
    first, second, _ = pair_slots
    pair = book(world, "code:A", first, second).pairs[0]
    services.pair_cancel(pair_id=pair.pk, holder="code:A")
    before = snapshot()
    with pytest.raises(ServiceError) as error:
        services.pair_cancel(pair_id=pair.pk, holder="code:A")
    assert error.value.code == "pair_not_live"
    assert snapshot() == before


def test_R4_another_holder_cannot_cancel_a_pair(world, pair_slots):
    first, second, _ = pair_slots
    pair = book(world, "code:A", first, second).pairs[0]
    with pytest.raises(ServiceError) as error:
        services.pair_cancel(pair_id=pair.pk, holder="code:B")
    assert error.value.code == "unknown_pair"


def test_rebook_moves_the_pair_and_frees_the_old_seats(world, pair_slots):
    first, second, _ = pair_slots
    new_first = make_slot(world.centre, world.biontech, at(8))
    new_second = make_slot(world.centre, world.biontech, at(30))
    old = book(world, "code:A", first, second).pairs[0]
    result = services.pair_rebook(
        pair_id=old.pk, holder="code:A", first_slot_id=new_first.pk, second_slot_id=new_second.pk
    )
    new = result.pairs[0]
    old.refresh_from_db()
    assert old.status == PairStatus.CANCELLED and old.replaced_by_id == new.pk
    refresh(first, second, new_first, new_second)
    assert (first.booked, second.booked, new_first.booked, new_second.booked) == (0, 0, 1, 1)


def test_rebook_keeping_the_same_first_slot_moves_only_the_second(world, pair_slots):
    first, second, later_second = pair_slots
    old = book(world, "code:A", first, second).pairs[0]
    new = services.pair_rebook(
        pair_id=old.pk, holder="code:A", first_slot_id=first.pk, second_slot_id=later_second.pk
    ).pairs[0]
    refresh(first, second, later_second)
    assert (first.booked, second.booked, later_second.booked) == (1, 0, 1)
    assert new.appointments.get(dose=2).slot_id == later_second.pk


def test_failed_rebook_keeps_the_old_pair(world, pair_slots):
    first, second, _ = pair_slots
    full = make_slot(world.centre, world.biontech, at(9), capacity=1, booked=1)
    old = book(world, "code:A", first, second).pairs[0]
    before = snapshot()
    result = services.pair_rebook(pair_id=old.pk, holder="code:A", first_slot_id=full.pk)
    assert not result.booked
    assert snapshot() == before
    old.refresh_from_db()
    assert old.status == PairStatus.BOOKED


def test_R20_rebook_less_than_3_days_before_is_refused(world):
    soon = make_slot(world.centre, world.biontech, at(2))
    make_slot(world.centre, world.biontech, at(23), released=False)
    later = make_slot(world.centre, world.biontech, at(10))
    make_slot(world.centre, world.biontech, at(31), released=False)
    old = book(world, "code:A", soon).pairs[0]
    before = snapshot()
    with pytest.raises(ServiceError) as error:
        services.pair_rebook(pair_id=old.pk, holder="code:A", first_slot_id=later.pk)
    assert error.value.code == "rebook_too_late"
    assert snapshot() == before


def test_R20_rebook_into_the_past_is_refused(world, pair_slots):
    first, second, _ = pair_slots
    old = book(world, "code:A", first, second).pairs[0]
    past = make_slot(world.centre, world.biontech, at(-2))
    before = snapshot()
    with pytest.raises(ServiceError) as error:
        services.pair_rebook(pair_id=old.pk, holder="code:A", first_slot_id=past.pk)
    assert error.value.code == "slot_in_past"
    assert snapshot() == before


# --- bad input: a clear error, nothing changed ----------------------------------------------


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (
            lambda w, s: services.pair_book(
                holder="x", district_id=w.district.pk, first_slot_id=999999
            ),
            "unknown_slot",
        ),
        (
            lambda w, s: services.pair_book(
                holder="x", district_id=w.district.pk, first_slot_id="abc"
            ),
            "unknown_slot",
        ),
        (
            lambda w, s: services.pair_book(
                holder="", district_id=w.district.pk, first_slot_id=s[0].pk
            ),
            "holder_invalid",
        ),
        (
            lambda w, s: services.pair_book(holder="x", district_id=999999, first_slot_id=s[0].pk),
            "unknown_district",
        ),
        (
            lambda w, s: services.pair_book(
                holder="x", district_id=w.district.pk, first_slot_id=s[0].pk, channel="fax"
            ),
            "channel_invalid",
        ),
        (
            lambda w, s: services.pairs_book_adjacent(
                holders=[f"h{i}" for i in range(9)],
                district_id=w.district.pk,
                first_slot_id=s[0].pk,
            ),
            "party_size_invalid",
        ),
        (
            lambda w, s: services.pairs_book_adjacent(
                holders=[], district_id=w.district.pk, first_slot_id=s[0].pk
            ),
            "holder_missing",
        ),
    ],
    ids=[
        "unknown-slot",
        "malformed-slot-id",
        "empty-holder",
        "unknown-district",
        "unknown-channel",
        "party-too-large",
        "no-holders",
    ],
)
def test_bad_booking_input_is_refused_clearly(world, pair_slots, call, code):
    before = snapshot()
    with pytest.raises(ServiceError) as error:
        call(world, pair_slots)
    assert error.value.code == code
    assert error.value.message
    assert snapshot() == before


def test_bad_input_slot_in_the_past(world):
    past = make_slot(world.centre, world.biontech, at(-1))
    before = snapshot()
    with pytest.raises(ServiceError) as error:
        book(world, "code:A", past)
    assert error.value.code == "slot_in_past"
    assert snapshot() == before


@pytest.mark.parametrize("days_after", [20, 43], ids=["too-early", "too-late"])
def test_bad_input_interval_violated(world, pair_slots, days_after):
    first, _, _ = pair_slots
    second = make_slot(world.centre, world.biontech, at(5 + days_after), released=False)
    before = snapshot()
    with pytest.raises(ServiceError) as error:
        book(world, "code:A", first, second)
    assert error.value.code == "interval_violated"
    assert "21" in error.value.message and "42" in error.value.message
    assert snapshot() == before


def test_bad_input_second_slot_at_another_centre(world, pair_slots):
    first, _, _ = pair_slots
    elsewhere = make_slot(world.other_centre, world.biontech, at(26))
    with pytest.raises(ServiceError) as error:
        book(world, "code:A", first, elsewhere)
    assert error.value.code == "second_slot_mismatch"


def test_bad_input_second_slot_for_single_dose_vaccine(world):
    slot = make_slot(world.centre, world.janssen, at(3))
    other = make_slot(world.centre, world.janssen, at(30))
    with pytest.raises(ServiceError) as error:
        book(world, "code:J", slot, other)
    assert error.value.code == "second_not_needed"


def test_bad_input_unknown_vaccine_in_search(world):
    with pytest.raises(ServiceError) as error:
        free_pair_options(
            district_id=world.district.pk,
            vaccine_id=424242,
            date_from=at(0).date(),
            date_to=at(7).date(),
        )
    assert error.value.code == "unknown_vaccine"


def test_bad_input_district_of_another_region_in_search(world):
    foreign = make_district(make_region(name="Hessen", slug="he", bundesland="HE"))
    with pytest.raises(ServiceError) as error:
        free_pair_options(
            region_id=world.region.pk,
            district_id=foreign.pk,
            vaccine_id=world.biontech.pk,
            date_from=at(0).date(),
            date_to=at(7).date(),
        )
    assert error.value.code == "district_not_in_region"


def test_bad_input_search_range_backwards(world):
    with pytest.raises(ServiceError) as error:
        free_pair_options(
            district_id=world.district.pk,
            vaccine_id=world.biontech.pk,
            date_from=at(7).date(),
            date_to=at(0).date(),
        )
    assert error.value.code == "date_range_invalid"


# --- search ---------------------------------------------------------------------------------


def test_R9_search_offers_only_the_own_districts_centres(world, pair_slots):
    first, second, _ = pair_slots
    make_slot(world.other_centre, world.biontech, at(5))
    make_slot(world.other_centre, world.biontech, at(26))
    options = free_pair_options(
        district_id=world.district.pk,
        vaccine_id=world.biontech.pk,
        date_from=at(0).date(),
        date_to=at(10).date(),
    )
    assert [(o.centre_id, o.first_slot_id, o.second_slot_id) for o in options] == [
        (world.centre.pk, first.pk, second.pk)
    ]


def test_search_skips_first_slots_without_a_free_second(world):
    make_slot(world.centre, world.biontech, at(5))  # nothing 21-42 days later
    with_second = make_slot(world.centre, world.biontech, at(6))
    make_slot(world.centre, world.biontech, at(6 + 42, 9), released=False)
    options = free_pair_options(
        district_id=world.district.pk,
        vaccine_id=world.biontech.pk,
        date_from=at(0).date(),
        date_to=at(10).date(),
    )
    assert [o.first_slot_id for o in options] == [with_second.pk]


def test_search_for_a_couple_needs_two_free_seats(world, pair_slots):
    first, _, _ = pair_slots
    Slot.objects.filter(pk=first.pk).update(booked=1)
    options = free_pair_options(
        district_id=world.district.pk,
        vaccine_id=world.biontech.pk,
        date_from=at(0).date(),
        date_to=at(10).date(),
        party_size=2,
    )
    assert options == []


# --- slot generation and release -------------------------------------------------------------


def test_generate_slots_is_idempotent(world):
    start = at(1).date()
    created = services.slots_generate(
        centre_id=world.centre.pk, date_from=start, date_to=start + dt.timedelta(days=6)
    )
    assert created == 7 * 12 * 12 * 1  # 7 days, 08-20 h, 5-minute slots, one vaccine
    before = snapshot()
    assert (
        services.slots_generate(
            centre_id=world.centre.pk, date_from=start, date_to=start + dt.timedelta(days=6)
        )
        == 0
    )
    assert snapshot() == before


def test_R12_generated_slots_include_weekends_and_public_holidays_when_open(world):
    christmas = dt.date(at(0).year + 1, 12, 25)
    services.slots_generate(centre_id=world.centre.pk, date_from=christmas, date_to=christmas)
    assert Slot.objects.filter(centre=world.centre).count() == 144


def test_centre_closed_on_public_holidays_gets_no_slots_then(world):
    world.centre.open_on_public_holidays = False
    world.centre.save()
    year = at(0).year + 1
    created = services.slots_generate(
        centre_id=world.centre.pk, date_from=dt.date(year, 12, 24), date_to=dt.date(year, 12, 26)
    )
    assert created == 144  # only the 24th: the 25th and 26th are holidays


def test_bad_input_generate_slots_in_the_past(world):
    with pytest.raises(ServiceError) as error:
        services.slots_generate(
            centre_id=world.centre.pk, date_from=at(-3).date(), date_to=at(1).date()
        )
    assert error.value.code == "slot_in_past"
    assert not Slot.objects.exists()


def test_bad_input_generate_slots_for_unknown_centre(db):
    with pytest.raises(ServiceError) as error:
        services.slots_generate(centre_id=4711, date_from=at(1).date(), date_to=at(2).date())
    assert error.value.code == "unknown_centre"


def test_R12_rolling_release_opens_the_window_and_is_idempotent(world):
    world.region.release_days_ahead = 3
    world.region.save()
    make_delivery(world.region, world.biontech, 10_000)
    inside = make_slot(world.centre, world.biontech, at(3, 19), released=False)
    outside = make_slot(world.centre, world.biontech, at(4, 8), released=False)
    past = make_slot(world.centre, world.biontech, at(-1), released=False)
    assert services.slots_release(region_id=world.region.pk) == 1
    assert services.slots_release(region_id=world.region.pk) == 0
    refresh(inside, outside, past)
    assert (inside.released, outside.released, past.released) == (True, False, False)


def test_R9_release_stays_within_the_districts_allocation(world):
    """Issue 7: first-dose seats bookable in a district never exceed its allocated doses;
    for a two-dose vaccine each first dose holds its second back."""
    slots = [make_slot(world.centre, world.biontech, at(1, h), released=False) for h in (9, 10, 11)]
    elsewhere = make_slot(world.other_centre, world.biontech, at(1, 9), released=False)
    assert services.slots_release(region_id=world.region.pk) == 0  # no doses, no seats
    make_delivery(world.region, world.biontech, 10, districts=[world.district])
    # 10 doses: 5 first doses; slots of 2 seats in time order while they fit: 2 slots.
    assert services.slots_release(region_id=world.region.pk) == 2
    refresh(*slots, elsewhere)
    assert [s.released for s in slots] == [True, True, False]
    assert not elsewhere.released  # the other district got nothing
    make_delivery(world.region, world.biontech, 4, districts=[world.district])
    assert services.slots_release(region_id=world.region.pk) == 1  # 7 first doses: 6 seats
    assert services.slots_release(region_id=world.region.pk) == 0


def test_R9_the_cap_can_be_switched_off_per_region(world):
    world.region.cap_by_allocation = False
    world.region.save()
    make_slot(world.centre, world.biontech, at(1), released=False)
    assert services.slots_release(region_id=world.region.pk) == 1


@pytest.mark.parametrize("capacity", [0, -1, "3"], ids=["zero", "negative", "not-a-number"])
def test_bad_input_slot_capacity_not_positive(world, capacity):
    with pytest.raises(ServiceError) as error:
        services.slot_create(
            centre_id=world.centre.pk, vaccine_id=world.biontech.pk, start=at(3), capacity=capacity
        )
    assert error.value.code == "capacity_not_positive"
    assert not Slot.objects.exists()


def test_bad_input_slot_for_unknown_vaccine(world):
    with pytest.raises(ServiceError) as error:
        services.slot_create(centre_id=world.centre.pk, vaccine_id=31337, start=at(3), capacity=3)
    assert error.value.code == "unknown_vaccine"
    assert not Slot.objects.exists()


def test_bad_input_slot_in_the_past_cannot_be_created(world):
    with pytest.raises(ServiceError) as error:
        services.slot_create(
            centre_id=world.centre.pk, vaccine_id=world.biontech.pk, start=at(-1), capacity=3
        )
    assert error.value.code == "slot_in_past"
    assert not Slot.objects.exists()


def test_top_up_generates_up_to_the_horizon_from_each_centres_last_slot(world):
    through = at(3).date()
    created = services.slots_top_up(through=through)
    per_day = 12 * 12  # 08-20 h, 5-minute slots, one vaccine
    days = (through - at(0).date()).days + 1
    assert 2 * per_day * (days - 1) <= created <= 2 * per_day * days  # today only from now on
    assert services.slots_top_up(through=through) == 0
    assert services.slots_top_up(through=at(4).date()) == 2 * per_day


def test_R11_a_visibly_full_slot_writes_nothing_and_offers_the_next(world, pair_slots):
    first, second, _ = pair_slots
    Slot.objects.filter(pk=first.pk).update(booked=F("capacity"))
    before = snapshot()
    result = book(world, "code:A", first, second)
    assert not result.booked
    assert snapshot() == before


@pytest.mark.parametrize(
    ("language", "expected"), [("de", "bis 1 Tag vor"), ("en", "until 1 day before")]
)
def test_R20_cut_off_message_names_one_day_in_the_singular(world, language, expected):
    from django.utils import translation

    world.region.rebook_cutoff_days = 1
    world.region.save()
    soon = make_slot(world.centre, world.biontech, timezone.now() + dt.timedelta(hours=2))
    make_slot(
        world.centre,
        world.biontech,
        timezone.now() + dt.timedelta(days=21, hours=3),
        released=False,
    )
    later = make_slot(world.centre, world.biontech, at(10))
    make_slot(world.centre, world.biontech, at(31), released=False)
    old = book(world, "code:A", soon).pairs[0]
    with pytest.raises(ServiceError) as error:
        services.pair_rebook(pair_id=old.pk, holder="code:A", first_slot_id=later.pk)
    with translation.override(language):
        assert expected in error.value.message
