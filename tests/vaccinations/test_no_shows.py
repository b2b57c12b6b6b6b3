"""Issue 7: at the end of the day missed appointments become no-shows; after the region's
grace period a missed first appointment gives up its pair — the second appointment's seat
is free for others — and the person is told (e-mail when they gave one; a registration goes
back into the pool). The end-of-day task is idempotent."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest

from impftermin.booking.models import Appointment, AppointmentStatus, PairStatus, Slot
from impftermin.codes.services import codes_book_by_phone
from impftermin.notifications.models import OutboundMessage
from impftermin.registrations.models import RegistrationStatus
from impftermin.registrations.services import registration_book
from impftermin.vaccinations.tasks import end_of_day
from tests.factories import at, make_slot
from tests.registrations.helpers import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def slots(world):
    return {
        "first": make_slot(world.centre, world.biontech, at(3, 9), capacity=4),
        "second": make_slot(world.centre, world.biontech, at(25, 9), capacity=4, released=False),
    }


def _days_after(slot, days: int):
    """The clock `days` days after the day of `slot`, in the night."""
    moment = slot.start.replace(hour=0, minute=45) + dt.timedelta(days=days)
    return mock.patch("django.utils.timezone.now", return_value=moment)


def _book_codes(world, slots, email=""):
    booked = codes_book_by_phone(
        region_id=world.region.pk,
        vaccine_id=world.biontech.pk,
        party_size=1,
        district_id=world.district.pk,
        first_slot_id=slots["first"].pk,
        second_slot_id=slots["second"].pk,
        email=email,
    )
    return booked.result.pairs[0]


def test_missed_appointments_become_no_shows_and_the_second_is_freed_after_grace(world, slots):
    world.region.no_show_grace_days = 2
    world.region.save()
    pair = _book_codes(world, slots, email="person@example.org")
    first = pair.appointments.get(dose=1)
    with _days_after(slots["first"], 1):
        assert end_of_day.call() == 0  # marked, but still within the grace period
        assert end_of_day.call() == 0  # and again: nothing changes
    first.refresh_from_db()
    assert first.status == AppointmentStatus.NO_SHOW
    pair.refresh_from_db()
    assert pair.status == PairStatus.BOOKED
    with _days_after(slots["first"], 2):
        assert end_of_day.call() == 1
        assert end_of_day.call() == 0
    pair.refresh_from_db()
    assert pair.status == PairStatus.CANCELLED
    assert Slot.objects.get(pk=slots["second"].pk).booked == 0  # the seat is free for others
    assert Appointment.objects.get(pk=first.pk).status == AppointmentStatus.NO_SHOW
    mail = OutboundMessage.objects.filter(recipient="person@example.org").latest("id")
    assert "storniert" in mail.subject


def test_a_person_who_came_keeps_the_second_appointment(world, slots):
    pair = _book_codes(world, slots)
    Appointment.objects.filter(pair=pair, dose=1).update(status=AppointmentStatus.VACCINATED)
    with _days_after(slots["first"], 5):
        assert end_of_day.call() == 0
    pair.refresh_from_db()
    assert pair.status == PairStatus.BOOKED
    assert pair.appointments.get(dose=2).status == AppointmentStatus.BOOKED


def test_a_phone_booking_without_email_gets_no_mail(world, slots):
    _book_codes(world, slots)
    with _days_after(slots["first"], 3):
        assert end_of_day.call() == 1
    assert not OutboundMessage.objects.exists()


def test_a_registration_goes_back_into_the_pool_and_is_told(pool, slots):
    registration = register(pool)  # with e-mail
    assert registration_book(
        registration_id=registration.pk,
        first_slot_id=slots["first"].pk,
        second_slot_id=slots["second"].pk,
    ).booked
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.ASSIGNED
    sent = OutboundMessage.objects.count()
    with _days_after(slots["first"], 3):
        assert end_of_day.call() == 1
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.WAITING
    assert OutboundMessage.objects.count() == sent + 1
    assert OutboundMessage.objects.latest("id").recipient == registration.email
