"""Statistics for operators (issue 7 item 5): per day, centre and vaccine the seats offered,
booked, checked in, vaccinated, no-shows, utilisation and the waiting time from booking to
appointment; and the aggregated daily export of vaccinations (date, district, vaccine,
dose, age group: counts only, no personal data), in the spirit of the RKI's monitoring.
Read-only; a few grouped queries whatever the number of people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from impftermin.booking.models import Appointment, AppointmentStatus, Slot
from impftermin.booking.selectors import day_start
from impftermin.vaccinations.models import Vaccination
from impftermin.vaccines.models import DistrictAllocation

MAX_DAYS = 92


@dataclass
class DayRow:
    day: dt.date
    centre: str
    vaccine: str
    offered: int = 0
    booked: int = 0
    checked_in: int = 0
    vaccinated: int = 0
    no_shows: int = 0
    waiting_days: float | None = None  # from booking to the first appointment, on average

    @property
    def utilisation(self) -> float | None:
        """Share of the seats offered that were booked."""
        return self.booked / self.offered if self.offered else None


def _bounds(date_from: dt.date, date_to: dt.date, region_id: int | None):
    where = Q(slot__start__gte=day_start(date_from)) & Q(
        slot__start__lt=day_start(date_to + dt.timedelta(days=1))
    )
    if region_id is not None:
        where &= Q(slot__centre__district__region_id=region_id)
    return where


def day_rows(*, date_from: dt.date, date_to: dt.date, region_id: int | None = None) -> list[DayRow]:
    """One row per day, centre and vaccine that had seats or appointments."""
    tz = timezone.get_default_timezone()
    rows: dict[tuple, DayRow] = {}

    def row(day, centre_id, centre, vaccine_id, vaccine) -> DayRow:
        # Keyed by ids: two centres (or vaccines) of one name stay two rows.
        return rows.setdefault((day, centre_id, vaccine_id), DayRow(day, centre, vaccine))

    slot_where = Q(start__gte=day_start(date_from)) & Q(
        start__lt=day_start(date_to + dt.timedelta(days=1))
    )
    if region_id is not None:
        slot_where &= Q(centre__district__region_id=region_id)
    offered = (
        Slot.objects.filter(slot_where, released=True)
        .annotate(day=TruncDate("start", tzinfo=tz))
        .values("day", "centre_id", "centre__name", "vaccine_id", "vaccine__name")
        .annotate(seats=Sum("capacity"))
    )
    for r in offered:
        row(
            r["day"], r["centre_id"], r["centre__name"], r["vaccine_id"], r["vaccine__name"]
        ).offered = r["seats"]
    taken = [s for s in AppointmentStatus.values if s != AppointmentStatus.CANCELLED]
    counts = (
        Appointment.objects.filter(_bounds(date_from, date_to, region_id), status__in=taken)
        .annotate(day=TruncDate("slot__start", tzinfo=tz))
        .values(
            "day",
            "slot__centre_id",
            "slot__centre__name",
            "slot__vaccine_id",
            "slot__vaccine__name",
        )
        .annotate(
            booked=Count("pk"),
            checked_in=Count(
                "pk",
                filter=Q(status__in=[AppointmentStatus.CHECKED_IN, AppointmentStatus.VACCINATED]),
            ),
            vaccinated=Count("pk", filter=Q(status=AppointmentStatus.VACCINATED)),
            no_shows=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW)),
            waiting=Avg(F("slot__start") - F("pair__created_at"), filter=Q(dose=1)),
        )
    )
    for r in counts:
        day_row = row(
            r["day"],
            r["slot__centre_id"],
            r["slot__centre__name"],
            r["slot__vaccine_id"],
            r["slot__vaccine__name"],
        )
        day_row.booked = r["booked"]
        day_row.checked_in = r["checked_in"]
        day_row.vaccinated = r["vaccinated"]
        day_row.no_shows = r["no_shows"]
        if r["waiting"] is not None:
            day_row.waiting_days = round(r["waiting"].total_seconds() / 86400, 1)
    return sorted(rows.values(), key=lambda r: (r.day, r.centre, r.vaccine))


def daily_export(*, day: dt.date, region_id: int | None = None) -> list[tuple]:
    """The day's vaccinations counted by district (of the centre), vaccine, dose and age
    group: (date, district, vaccine code, dose, age group, count). Counts only."""
    vaccinations = Vaccination.objects.filter(
        vaccinated_at__gte=day_start(day), vaccinated_at__lt=day_start(day + dt.timedelta(days=1))
    )
    if region_id is not None:
        vaccinations = vaccinations.filter(centre__district__region_id=region_id)
    grouped = (
        vaccinations.values("centre__district__name", "vaccine__code", "dose", "age_group")
        .annotate(count=Count("pk"))
        .order_by("centre__district__name", "vaccine__code", "dose", "age_group")
    )
    return [
        (
            day.isoformat(),
            g["centre__district__name"],
            g["vaccine__code"],
            g["dose"],
            g["age_group"],
            g["count"],
        )
        for g in grouped
    ]


@dataclass
class DistrictDoses:
    district: str
    vaccine: str
    allocated: int = 0
    booked: int = 0  # appointments holding a seat, not yet given
    administered: int = 0

    @property
    def left(self) -> int:
        return self.allocated - self.booked - self.administered


def district_doses(*, region_id: int | None = None) -> list[DistrictDoses]:
    """Issue 7 item 2: per district and vaccine the doses allocated, booked (not yet given),
    administered and left. Three grouped queries."""
    allocations = DistrictAllocation.objects.all()
    appointments = Appointment.objects.filter(
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN]
    )
    vaccinations = Vaccination.objects.all()
    if region_id is not None:
        allocations = allocations.filter(district__region_id=region_id)
        appointments = appointments.filter(slot__centre__district__region_id=region_id)
        vaccinations = vaccinations.filter(centre__district__region_id=region_id)
    rows: dict[tuple, DistrictDoses] = {}

    def row(district_id, district, vaccine_id, vaccine) -> DistrictDoses:
        return rows.setdefault((district_id, vaccine_id), DistrictDoses(district, vaccine))

    for r in allocations.values(
        "district_id", "district__name", "delivery__vaccine_id", "delivery__vaccine__name"
    ).annotate(n=Sum("doses")):
        row(
            r["district_id"],
            r["district__name"],
            r["delivery__vaccine_id"],
            r["delivery__vaccine__name"],
        ).allocated = r["n"]
    for r in appointments.values(
        "slot__centre__district_id",
        "slot__centre__district__name",
        "slot__vaccine_id",
        "slot__vaccine__name",
    ).annotate(n=Count("pk")):
        row(
            r["slot__centre__district_id"],
            r["slot__centre__district__name"],
            r["slot__vaccine_id"],
            r["slot__vaccine__name"],
        ).booked = r["n"]
    for r in vaccinations.values(
        "centre__district_id", "centre__district__name", "vaccine_id", "vaccine__name"
    ).annotate(n=Count("pk")):
        row(
            r["centre__district_id"],
            r["centre__district__name"],
            r["vaccine_id"],
            r["vaccine__name"],
        ).administered = r["n"]
    return sorted(rows.values(), key=lambda r: (r.district, r.vaccine))
