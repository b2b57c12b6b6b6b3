"""Cached availability (issue 9): the free times that pages and APIs show come from the
cache; a booking that fills a slot, a cancellation and a release renew it, so a list never
shows a time the cache has been told is full; a booking that leaves seats keeps it; without
a cache every request asks the database."""

import threading

import pytest
from django.test import override_settings

from impftermin.booking.models import Slot
from impftermin.booking.selectors import times_by_day
from impftermin.booking.services import pair_book, pair_cancel, slots_release
from tests.factories import at, make_slot

pytestmark = pytest.mark.django_db


def shown(world, party_size: int = 1) -> set[int]:
    """The first-dose slots that the times page of the day shows."""
    times = times_by_day(
        requested_day=at(5).date().isoformat(),
        district_id=world.district.pk,
        vaccine=world.biontech,
        days_ahead=14,
        party_size=party_size,
    )
    return {option.first_slot_id for option in times.options}


@pytest.fixture
def slots(world):
    second = make_slot(world.centre, world.biontech, at(27), capacity=10, released=False)
    return second


def book(world, slot, second, holder):
    return pair_book(
        holder=holder,
        district_id=world.district.pk,
        first_slot_id=slot.pk,
        second_slot_id=second.pk,
    )


def test_free_times_are_served_from_the_cache(world, slots, django_assert_num_queries):
    slot = make_slot(world.centre, world.biontech, at(5), capacity=2)
    assert shown(world) == {slot.pk}
    with django_assert_num_queries(0):
        assert shown(world) == {slot.pk}


def test_a_booking_that_fills_a_slot_renews_the_list(
    world, slots, django_capture_on_commit_callbacks
):
    full_soon = make_slot(world.centre, world.biontech, at(5, 9), capacity=1)
    other = make_slot(world.centre, world.biontech, at(5, 11), capacity=1)
    assert shown(world) == {full_soon.pk, other.pk}
    with django_capture_on_commit_callbacks(execute=True):
        assert book(world, full_soon, slots, "online:a").booked
    assert shown(world) == {other.pk}


def test_a_booking_that_leaves_seats_keeps_the_cached_answer(
    world, slots, django_capture_on_commit_callbacks, django_assert_num_queries
):
    slot = make_slot(world.centre, world.biontech, at(5), capacity=10)
    assert shown(world) == {slot.pk}
    with django_capture_on_commit_callbacks(execute=True):
        assert book(world, slot, slots, "online:a").booked
    with django_assert_num_queries(0):
        assert shown(world) == {slot.pk}


def test_R7_a_slot_too_small_for_a_household_leaves_its_list(
    world, slots, django_capture_on_commit_callbacks
):
    slot = make_slot(world.centre, world.biontech, at(5), capacity=2)
    assert shown(world, party_size=2) == {slot.pk}
    with django_capture_on_commit_callbacks(execute=True):
        assert book(world, slot, slots, "online:a").booked
    assert shown(world, party_size=2) == set()  # one seat left: not for a couple
    assert shown(world) == {slot.pk}


def test_a_cancellation_shows_the_seat_again(world, slots, django_capture_on_commit_callbacks):
    slot = make_slot(world.centre, world.biontech, at(5), capacity=1)
    with django_capture_on_commit_callbacks(execute=True):
        result = book(world, slot, slots, "online:a")
    assert shown(world) == set()
    with django_capture_on_commit_callbacks(execute=True):
        pair_cancel(pair_id=result.pairs[0].pk, holder="online:a")
    assert shown(world) == {slot.pk}


def test_released_slots_appear_at_once(world, slots, django_capture_on_commit_callbacks):
    world.region.cap_by_allocation = False  # no deliveries in this world
    world.region.save()
    slot = make_slot(world.centre, world.biontech, at(5), capacity=2, released=False)
    assert shown(world) == set()
    with django_capture_on_commit_callbacks(execute=True):
        assert slots_release(region_id=world.region.pk) >= 1
    assert shown(world) == {slot.pk}


def test_a_change_outside_the_engine_is_shown_once_the_answer_expires(world, slots, settings):
    settings.AVAILABILITY_CACHE_SECONDS = 0  # Django's cache: 0 is "do not keep"
    slot = make_slot(world.centre, world.biontech, at(5), capacity=2)
    assert shown(world) == {slot.pk}
    Slot.objects.filter(pk=slot.pk).update(booked=2)  # e.g. an edit in the database
    assert shown(world) == set()


def test_without_a_cache_every_request_asks_the_database(
    world, slots, django_capture_on_commit_callbacks
):
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    ):
        slot = make_slot(world.centre, world.biontech, at(5), capacity=1)
        assert shown(world) == {slot.pk}
        with django_capture_on_commit_callbacks(execute=True):
            assert book(world, slot, slots, "online:a").booked
        assert shown(world) == set()


def test_the_api_availability_asks_the_database_nothing_when_cached(
    world, slots, client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    slot = make_slot(world.centre, world.biontech, at(5), capacity=1)
    url = f"/api/v1/availability?centre={world.centre.pk}&days=10"
    day = at(5).date().isoformat()

    def bookable() -> int:
        days = client.get(url).json()[0]["days"]
        return sum(d["bookable_slots"] for d in days if d["day"] == day)

    assert bookable() == 1
    with django_assert_num_queries(0):
        assert bookable() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert book(world, slot, slots, "online:a").booked
    assert bookable() == 0


def test_while_one_request_asks_the_database_the_others_wait_for_its_answer(db):
    """No stampede after a renewal: a reader that finds another request computing the
    same answer takes that answer instead of asking the database too; if none comes, it
    asks itself."""
    from django.core.cache import cache

    from impftermin.booking import availability

    asked = []

    def compute():
        asked.append(1)
        return ["from the database"]

    key = availability.answer_key("days", district_id=1, vaccine_id=1, params=(1,))
    cache.add(f"{key}:computing", 1, timeout=5)  # another request is at it ...
    threading.Timer(0.05, lambda: cache.set(key, ["the other's answer"], 30)).start()
    answer = availability.cached_answer(
        "days", district_id=1, vaccine_id=1, params=(1,), compute=compute
    )
    assert answer == ["the other's answer"] and asked == []  # ... and its answer came
    other = availability.answer_key("days", district_id=1, vaccine_id=1, params=(2,))
    cache.add(f"{other}:computing", 1, timeout=5)  # one that never answers
    answer = availability.cached_answer(
        "days", district_id=1, vaccine_id=1, params=(2,), compute=compute
    )
    assert answer == ["from the database"] and asked == [1]
