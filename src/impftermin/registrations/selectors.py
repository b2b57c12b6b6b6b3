"""Read-only queries about registrations for pages and APIs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.utils import timezone

from impftermin.audit.models import AuditSubject
from impftermin.booking.models import AppointmentPair
from impftermin.booking.selectors import (
    PairOption,
    holder_export,
    live_pair_for,
    times_by_day,
)
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


@dataclass(frozen=True)
class Person:
    """Who a registration's pair belongs to, as the centre's day list shows them."""

    first_name: str
    last_name: str
    birth_date: dt.date


def people_for_holders(holders: list[str]) -> dict[str, Person]:
    """Name and date of birth behind those holders that are registrations (one query)."""
    ids = []
    for holder in holders:
        if isinstance(holder, str) and holder.startswith("reg:") and holder[4:].isdigit():
            ids.append(Registration.pk_of_holder(holder))
    rows = Registration.objects.filter(pk__in=ids).exclude(status=RegistrationStatus.DELETED)
    return {
        Registration.holder_of(pk): Person(first, last, born)
        for pk, first, last, born in rows.values_list("pk", "first_name", "last_name", "birth_date")
    }


def holder_for_vorgangskennung(vorgangskennung: object) -> str | None:
    """The pair holder of a live registration (e.g. from the QR code on its letter)."""
    value = identifiers.normalised(vorgangskennung, VORGANGSKENNUNG_LENGTH)
    if value is None or not identifiers.has_valid_check(value):
        return None
    pk = (
        Registration.objects.exclude(status=RegistrationStatus.DELETED)
        .filter(vorgangskennung=value)
        .values_list("pk", flat=True)
        .first()
    )
    return Registration.holder_of(pk) if pk else None


def holders_by_name(last_name: str, birth_date: dt.date) -> list[str]:
    """Pair holders of live registrations with this last name (any case) and date of birth:
    the centre's search for someone without their letter. Both are required."""
    if not last_name.strip() or not isinstance(birth_date, dt.date):
        return []
    pks = (
        Registration.objects.exclude(status=RegistrationStatus.DELETED)
        .filter(last_name__iexact=last_name.strip(), birth_date=birth_date)
        .values_list("pk", flat=True)[:20]
    )
    return [Registration.holder_of(pk) for pk in pks]


def registration_export(registration: Registration) -> dict:
    """Everything we hold about a registered person (GDPR Art. 15): their data, their
    appointments, the messages sent to them (by owner, not by address: one address can
    serve a household), and when staff looked at it."""
    return {
        "exported_at": timezone.localtime().isoformat(),
        "registration": {
            "vorgangskennung": identifiers.grouped(registration.vorgangskennung),
            "first_name": registration.first_name,
            "last_name": registration.last_name,
            "birth_date": registration.birth_date.isoformat(),
            "street": registration.street,
            "postcode": registration.postcode,
            "city": registration.city,
            "residence": registration.get_residence_display(),
            "email": registration.email,
            "mobile": registration.mobile,
            "for_someone_else": registration.for_someone_else,
            "region": registration.region.name,
            "centre": registration.centre.name if registration.centre_id else None,
            "vaccine": registration.vaccine.name if registration.vaccine_id else None,
            "status": registration.get_status_display(),
            "registered_at": timezone.localtime(registration.created_at).isoformat(),
            "registered_by": registration.get_channel_display(),
            "language": registration.language,
        },
        **holder_export(
            holder=registration.holder, what=AuditSubject.REGISTRATION, which=registration.pk
        ),
    }
