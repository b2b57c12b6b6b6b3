"""Calendar files (ICS, RFC 5545) for a person's appointments, made with `icalendar`.
The events keep their UIDs across a rebook, so calendar programs move them instead of
adding new ones, and a cancellation removes them."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from impftermin.booking.models import AppointmentPair, AppointmentStatus
from impftermin.booking.selectors import pair_appointments

# Vaccination with the observation time afterwards.
VISIT_DURATION = dt.timedelta(minutes=30)


def _uid(holder: str, dose: int) -> str:
    # Not the holder itself: no internal ids in the file.
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:ics:{holder}:{dose}".encode()).hexdigest()
    return f"{digest[:32]}@impftermin"


def appointments_calendar(pair: AppointmentPair, *, cancelled: bool = False) -> str:
    """The pair's appointments (booked ones; with `cancelled`, the cancelled ones) as an
    ICS file, in the active language."""
    calendar = Calendar()
    calendar.add("prodid", "-//Impftermin//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    centre = pair.centre
    location = f"{centre.name}, {centre.street}, {centre.postcode} {centre.city}"
    status = AppointmentStatus.CANCELLED if cancelled else AppointmentStatus.BOOKED
    now = timezone.now()
    for appointment in pair_appointments(pair, status):
        event = Event()
        event.add("uid", _uid(pair.holder, appointment.dose))
        event.add("sequence", int(now.timestamp()))  # later files replace earlier ones
        event.add("dtstamp", now)
        event.add("dtstart", appointment.slot.start)
        event.add("dtend", appointment.slot.start + VISIT_DURATION)
        event.add(
            "summary",
            _("%(dose)d. Corona-Impfung: %(centre)s")
            % {"dose": appointment.dose, "centre": centre.name},
        )
        event.add("location", location)
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")
