"""Reading for the check-in desk: the day's appointments at a centre, and the search for
one person's appointment today (by booking code, Vorgangskennung or its QR code, or name
and date of birth)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from impftermin.booking.models import Appointment, AppointmentStatus, PairStatus
from impftermin.booking.selectors import day_start, second_dose_slots
from impftermin.centres.models import Centre
from impftermin.codes.services import code_set_for
from impftermin.core.errors import ServiceError
from impftermin.registrations.selectors import (
    Person,
    holder_for_vorgangskennung,
    holders_by_name,
    people_for_holders,
)
from impftermin.vaccinations.models import Vaccination


@dataclass
class DeskRow:
    appointment_id: int
    pair_id: int
    start: dt.datetime
    status: str
    status_label: str
    dose: int  # the dose this appointment will give (R12: by what the person has had)
    vaccine: str
    person: Person | None  # None: booked with codes, the person shows their code
    batch_number: str = ""
    # R6: free second-dose slots (id, start), when this pair has no second appointment yet
    second_options: list[tuple[int, dt.datetime]] = field(default_factory=list)


def _rows(appointments: list[Appointment]) -> list[DeskRow]:
    holders = sorted({a.pair.holder for a in appointments})
    people = people_for_holders(holders)
    had_first = set(
        Vaccination.objects.filter(holder__in=holders, dose=1).values_list("holder", flat=True)
    )
    recorded = Vaccination.objects.filter(appointment__in=appointments)
    given = dict(recorded.values_list("appointment_id", "batch_number"))
    doses = dict(recorded.values_list("appointment_id", "dose"))
    with_second = set(
        Appointment.objects.filter(pair__in={a.pair_id for a in appointments}, dose=2)
        .exclude(status=AppointmentStatus.CANCELLED)
        .values_list("pair_id", flat=True)
    )
    rows = []
    for a in appointments:
        # Given: the dose recorded; else what it will be (R12: by what the person has had).
        dose = doses.get(a.pk) or (2 if a.pair.holder in had_first else 1)
        rows.append(
            DeskRow(
                appointment_id=a.pk,
                pair_id=a.pair_id,
                start=a.slot.start,
                status=a.status,
                status_label=a.get_status_display(),
                dose=dose,
                vaccine=a.pair.vaccine.name,
                person=people.get(a.pair.holder),
                batch_number=given.get(a.pk, ""),
                second_options=_second_options(a) if _needs_second(a, with_second) else [],
            )
        )
    return rows


def _needs_second(appointment: Appointment, with_second: set[int]) -> bool:
    return (
        appointment.dose == 1
        and appointment.pair.vaccine.doses == 2
        and appointment.pair_id not in with_second
        and appointment.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.VACCINATED)
    )


SECOND_OPTIONS = 8


def _second_options(appointment: Appointment) -> list[tuple[int, dt.datetime]]:
    slots = second_dose_slots(
        centre_id=appointment.slot.centre_id,
        vaccine=appointment.pair.vaccine,
        first_start=appointment.slot.start,
        party_size=1,
    )
    return list(slots.values_list("id", "start")[:SECOND_OPTIONS])


def _today(centre: Centre, day: dt.date):
    return (
        Appointment.objects.filter(
            slot__centre=centre,
            slot__start__gte=day_start(day),
            slot__start__lt=day_start(day + dt.timedelta(days=1)),
            pair__status=PairStatus.BOOKED,
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("slot", "pair__vaccine")
        .order_by("slot__start", "pk")
    )


def day_list(*, centre: Centre, day: dt.date | None = None) -> list[DeskRow]:
    """Everyone with an appointment at this centre on `day` (today), by time."""
    return _rows(list(_today(centre, day or timezone.localdate())))


def desk_search(
    *,
    centre: Centre,
    code: str = "",
    vorgangskennung: str = "",
    last_name: str = "",
    birth_date: dt.date | None = None,
) -> list[DeskRow]:
    """Today's appointments at this centre of the person found by one of: a booking code,
    a Vorgangskennung (typed, or scanned from the letter's QR code), or last name and date
    of birth (registrations only: booking codes carry no names)."""
    holders: list[str] = []
    if code:
        try:
            holders = [code_set_for(code).holder]
        except ServiceError:
            holders = []
    elif vorgangskennung:
        holder = holder_for_vorgangskennung(vorgangskennung)
        holders = [holder] if holder else []
    elif last_name and birth_date:
        holders = holders_by_name(last_name, birth_date)
    if not holders:
        return []
    today = timezone.localdate()
    return _rows(list(_today(centre, today).filter(pair__holder__in=holders)))
