"""Read-only queries about registrations for pages and APIs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from impftermin.booking.models import AppointmentPair
from impftermin.booking.selectors import PairOption, live_pair_for, times_by_day
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


@dataclass(frozen=True)
class Times:
    """The free times a registration may choose from (R18, R20): days in the release
    window at its centre, with its vaccine, side by side for a couple (R19), one
    appointment for a single-dose registration (R27); the options of one day."""

    days: list[tuple[dt.date, int]]
    day: dt.date | None
    options: list[PairOption]
    party_size: int
    single_dose: bool


def registration_times(registration: Registration, requested_day: str | None) -> Times:
    vaccine = registration.vaccine
    single_dose = registration.single_dose and vaccine.doses == 2
    party_size = 1 if registration.partner_id is None else 2
    times = times_by_day(
        requested_day=requested_day,
        district_id=registration.district_id,
        vaccine=vaccine,
        days_ahead=registration.region.release_days_ahead,
        party_size=party_size,
        require_second=not single_dose,
        centre_id=registration.centre_id,
    )
    options = times.options
    if single_dose:
        options = [replace(o, second_slot_id=None, second_start=None) for o in options]
    return Times(times.days, times.day, options, party_size, single_dose)
