"""Shared by the booking tests: what the engine wrote, and a short way to book."""

from django.db.models import Count, F, Q

from impftermin.booking import services
from impftermin.booking.models import SEAT_HOLDING_STATUSES, Appointment, AppointmentPair, Slot


def snapshot():
    """Everything the engine writes, to show that a refused call changed nothing."""
    return (
        sorted(Slot.objects.values_list("id", "booked", "capacity", "released")),
        sorted(AppointmentPair.objects.values_list("id", "status", "holder")),
        sorted(Appointment.objects.values_list("id", "status", "slot_id")),
    )


def slots_out_of_step() -> list:
    """Slots whose booked count differs from their seat-holding appointments."""
    return list(
        Slot.objects.annotate(
            holding=Count("appointments", filter=Q(appointments__status__in=SEAT_HOLDING_STATUSES))
        )
        .exclude(booked=F("holding"))
        .values("id", "booked", "holding")
    )


def book(world, holder, first, second=None, **kwargs):
    return services.pair_book(
        holder=holder,
        district_id=world.district.pk,
        first_slot_id=first.pk,
        second_slot_id=second.pk if second else None,
        **kwargs,
    )
