"""Proof under contention on PostgreSQL: many threads, each with its own connection,
book, cancel and rebook against few slots; then the invariants are checked.

A control test shows that the race is real: a naive read-then-write booking, run with the
same barrier, loses updates. A contention test that would pass without the engine's
locking discipline would prove nothing.
"""

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.db.models import Count, F

from impftermin.booking import services
from impftermin.booking.models import (
    SEAT_HOLDING_STATUSES,
    Appointment,
    AppointmentPair,
    PairStatus,
    Slot,
)
from impftermin.core.errors import ServiceError
from tests.booking.helpers import slots_out_of_step
from tests.factories import at, make_delivery, make_slot

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

THREADS = 40


def run_concurrently(work: Callable[[int], object], n: int = THREADS) -> list[object]:
    """Run work(i) for i in range(n) on n threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def runner(i: int) -> object:
        try:
            barrier.wait(timeout=30)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(runner, range(n)))


def assert_invariants(expected_capacity_used: int | None = None) -> None:
    # booked count = seat-holding appointments <= capacity, for every slot
    mismatched = slots_out_of_step()
    assert not mismatched, mismatched
    assert not Slot.objects.filter(booked__gt=F("capacity")).exists()
    # no holder with two live pairs
    doubles = (
        AppointmentPair.objects.filter(status=PairStatus.BOOKED)
        .values("holder")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not doubles.exists(), list(doubles)
    # no half pair: a live two-dose pair holds both doses (or says the second is given at the centre)
    for pair in AppointmentPair.objects.filter(status=PairStatus.BOOKED).select_related("vaccine"):
        doses = sorted(
            pair.appointments.filter(status__in=SEAT_HOLDING_STATUSES).values_list(
                "dose", flat=True
            )
        )
        expected = [1] if pair.vaccine.doses == 1 or pair.second_dose_at_centre else [1, 2]
        assert doses == expected, (pair.pk, doses)
    # a cancelled pair holds no future seat
    assert not Appointment.objects.filter(
        pair__status=PairStatus.CANCELLED, status__in=SEAT_HOLDING_STATUSES, slot__start__gt=at(0)
    ).exists()
    if expected_capacity_used is not None:
        assert sum(Slot.objects.values_list("booked", flat=True)) == expected_capacity_used


@pytest.fixture
def few_slots(transactional_db, world):
    """3 first-dose slots x 2 seats, and second-dose slots with room for all of them."""
    firsts = [make_slot(world.centre, world.biontech, at(5, 9 + i), capacity=2) for i in range(3)]
    seconds = [
        make_slot(world.centre, world.biontech, at(26, 9 + i), capacity=2, released=False)
        for i in range(3)
    ]
    return firsts, seconds


def book_until_done(world, holder: str, first_slot_id: int) -> str:
    """A client as a person would be: try a slot; after a lost race take the next offer."""
    slot_id = first_slot_id
    for _ in range(10):
        result = services.pair_book(
            holder=holder, district_id=world.district.pk, first_slot_id=slot_id
        )
        if result.booked:
            return "booked"
        if not result.alternatives:
            return "sold out"
        slot_id = result.alternatives[0].first_slot_id
    return "gave up"


def test_control_naive_read_then_write_loses_updates(few_slots, world):
    """Without the conditional UPDATE the race is real: every thread reads a free seat."""
    slot = few_slots[0][0]
    Slot.objects.filter(pk=slot.pk).update(capacity=100)
    barrier = threading.Barrier(8)

    def naive_book(i: int) -> None:
        with transaction.atomic():
            booked = Slot.objects.get(pk=slot.pk).booked
            barrier.wait(timeout=30)  # everyone has read before anyone writes
            pair = AppointmentPair.objects.create(
                holder=f"naive-{i}", vaccine=world.biontech, centre=world.centre, channel="online"
            )
            Appointment.objects.create(pair=pair, slot=slot, dose=1)
            Slot.objects.filter(pk=slot.pk).update(booked=booked + 1)

    def runner(i: int) -> None:
        try:
            naive_book(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(runner, range(8)))
    slot.refresh_from_db()
    assert Appointment.objects.filter(slot=slot).count() == 8
    assert slot.booked < 8, (
        "the naive way lost updates: the count no longer matches the appointments"
    )


def test_storm_of_bookings_fills_capacity_exactly_never_more(few_slots, world):
    firsts, _ = few_slots
    outcomes = run_concurrently(lambda i: book_until_done(world, f"code:{i}", firsts[0].pk))
    assert outcomes.count("booked") == 6  # 3 slots x 2 seats
    assert outcomes.count("sold out") == THREADS - 6
    assert_invariants(expected_capacity_used=12)  # 6 pairs x 2 doses


def test_same_holder_booking_in_parallel_gets_one_pair(few_slots, world):
    firsts, _ = few_slots
    Slot.objects.filter(pk__in=[s.pk for s in firsts]).update(capacity=50)

    def attempt(i: int) -> str:
        try:
            result = services.pair_book(
                holder="code:same", district_id=world.district.pk, first_slot_id=firsts[i % 3].pk
            )
            return "booked" if result.booked else "lost"
        except ServiceError as error:
            return error.code

    outcomes = run_concurrently(attempt)
    assert outcomes.count("booked") == 1
    assert set(outcomes) <= {"booked", "holder_has_live_pair"}
    assert_invariants(expected_capacity_used=2)


def test_parallel_cancels_of_one_pair_return_the_seats_once(few_slots, world):
    firsts, _ = few_slots
    pair = services.pair_book(
        holder="code:A", district_id=world.district.pk, first_slot_id=firsts[0].pk
    ).pairs[0]

    def cancel(i: int) -> str:
        try:
            services.pair_cancel(pair_id=pair.pk, holder="code:A")
            return "cancelled"
        except ServiceError as error:
            return error.code

    outcomes = run_concurrently(cancel, n=32)
    assert outcomes.count("cancelled") == 1
    assert outcomes.count("pair_not_live") == 31
    assert_invariants(expected_capacity_used=0)


def test_mixed_storm_of_book_cancel_and_rebook_keeps_every_invariant(few_slots, world):
    firsts, seconds = few_slots
    # more first-dose slots across two days, and second-dose room for them
    firsts += [make_slot(world.centre, world.biontech, at(6, 9 + i), capacity=2) for i in range(3)]
    seconds += [
        make_slot(world.centre, world.biontech, at(27, 9 + i), capacity=3, released=False)
        for i in range(3)
    ]
    first_ids = [s.pk for s in firsts]

    def client(i: int) -> list[str]:
        rng = random.Random(i)
        holder = f"code:{i}"
        log = []
        for _step in range(6):
            live = AppointmentPair.objects.filter(holder=holder, status=PairStatus.BOOKED).first()
            try:
                if live is None:
                    result = services.pair_book(
                        holder=holder,
                        district_id=world.district.pk,
                        first_slot_id=rng.choice(first_ids),
                    )
                    log.append("booked" if result.booked else "lost")
                elif rng.random() < 0.5:
                    services.pair_cancel(pair_id=live.pk, holder=holder)
                    log.append("cancelled")
                else:
                    result = services.pair_rebook(
                        pair_id=live.pk, holder=holder, first_slot_id=rng.choice(first_ids)
                    )
                    log.append("rebooked" if result.booked else "rebook-lost")
            except ServiceError as error:
                log.append(error.code)
        return log

    logs = run_concurrently(client)
    flat = [entry for log in logs for entry in log]
    assert flat.count("booked") > 0 and flat.count("cancelled") > 0
    assert flat.count("rebooked") + flat.count("rebook-lost") > 0
    # the only refusals are honest ones (a pair changed meanwhile), never a crash
    assert set(flat) <= {"booked", "lost", "cancelled", "rebooked", "rebook-lost", "pair_not_live"}
    assert_invariants()


@pytest.mark.django_db(transaction=True)
def test_R12_two_release_runs_at_once_release_each_slot_once(world):
    """Issue 7: the daily release is safe to run twice at once (a scheduler's catch-up and
    an operator's button): each slot is released once, and the allocation's cap holds."""
    world.region.release_days_ahead = 5
    world.region.save()
    # Room for 20 first doses in the district: 10 of the 12 slots of two seats.
    make_delivery(world.region, world.biontech, 40, districts=[world.district])
    for day in range(1, 5):
        for hour in (9, 11, 14):
            make_slot(world.centre, world.biontech, at(day, hour), released=False)
    counts = run_concurrently(lambda _i: services.slots_release(region_id=world.region.pk), n=4)
    assert sum(counts) == 10 == Slot.objects.filter(released=True).count()
    assert services.slots_release(region_id=world.region.pk) == 0
