"""Read-only queries about registrations for pages and APIs."""

from __future__ import annotations

import datetime as dt

from impftermin.booking.models import AppointmentPair
from impftermin.booking.selectors import live_pair_for
from impftermin.core import identifiers
from impftermin.registrations.models import Letter, Registration, RegistrationStatus
from impftermin.registrations.services import VORGANGSKENNUNG_LENGTH


def registration_for_caller(vorgangskennung: object, birth_date: object) -> Registration | None:
    """The live registration with this Vorgangskennung AND this date of birth (R20: how the
    call center finds a registration; nothing else finds one), or None: a wrong pair reads
    the same as an unknown Vorgangskennung. The caller throttles the attempts."""
    value = identifiers.normalised(vorgangskennung, VORGANGSKENNUNG_LENGTH)
    if (
        value is None
        or not identifiers.has_valid_check(value)
        or not isinstance(birth_date, dt.date)
        or isinstance(birth_date, dt.datetime)
    ):
        return None
    return (
        Registration.objects.select_related("region", "centre", "vaccine", "partner")
        .exclude(status=RegistrationStatus.DELETED)
        .filter(vorgangskennung=value, birth_date=birth_date)
        .first()
    )


def live_registration(registration_id: object) -> Registration | None:
    """The registration by its id while it is not deleted, with what pages show of it."""
    if not isinstance(registration_id, int) or isinstance(registration_id, bool):
        return None
    return (
        Registration.objects.select_related("region", "centre", "vaccine", "partner")
        .exclude(status=RegistrationStatus.DELETED)
        .filter(pk=registration_id)
        .first()
    )


def newest_letter(registration: Registration) -> Letter | None:
    """The registration's latest letter (R12: a later letter overrides dates agreed by
    phone), or None."""
    return Letter.objects.filter(registration=registration).order_by("-issued_on", "-id").first()


def live_pair(registration: Registration) -> AppointmentPair | None:
    return live_pair_for(holder=registration.holder)
