"""Read-only queries of the booking engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from impftermin.audit.selectors import staff_access_export
from impftermin.booking.availability import cached_answer
from impftermin.booking.models import (
    Appointment,
    AppointmentPair,
    AppointmentStatus,
    PairStatus,
    Slot,
)
from impftermin.centres.selectors import UNKNOWN_VACCINE, get_vaccine
from impftermin.core.errors import ServiceError
from impftermin.core.validation import as_date, as_id
from impftermin.notifications.selectors import holder_messages_export
from impftermin.regions.models import District
from impftermin.vaccines.models import Vaccine

MAX_PARTY_SIZE = 6  # couples and households booked side by side (R7)
MAX_SEARCH_DAYS = 366


@dataclass(frozen=True)
class PairOption:
    """A bookable combination: a free first-dose slot and a free second-dose slot inside
    the vaccine's interval at the same centre (no second for single-dose vaccines)."""

    centre_id: int
    vaccine_id: int
    first_slot_id: int
    first_start: dt.datetime
    second_slot_id: int | None
    second_start: dt.datetime | None


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of a calendar day in the service's time zone (Europe/Berlin)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def local_today() -> dt.date:
    return timezone.localdate()


def validate_party_size(party_size: int) -> None:
    if not isinstance(party_size, int) or not 1 <= party_size <= MAX_PARTY_SIZE:
        raise ServiceError(
            "party_size_invalid",
            _("Gemeinsam buchen können 1 bis %(max)d Personen."),
            field="party_size",
            max=MAX_PARTY_SIZE,
        )


UNKNOWN_DISTRICT = _("Diesen Kreis gibt es nicht.")


def district_id_of(value: object) -> int:
    return as_id(value, code="unknown_district", message=UNKNOWN_DISTRICT, field="district")


def get_district(district_id: object, *, region_id: int | None = None) -> District:
    try:
        district = District.objects.select_related("region").get(pk=district_id_of(district_id))
    except District.DoesNotExist:
        raise ServiceError("unknown_district", UNKNOWN_DISTRICT, field="district") from None
    if region_id is not None and district.region_id != region_id:
        raise ServiceError(
            "district_not_in_region",
            _("Der Kreis %(district)s gehört nicht zu dieser Region."),
            field="district",
            district=district.name,
        )
    return district


def free_seats(
    queryset: QuerySet[Slot], party_size: int, *, released_only: bool = True
) -> QuerySet[Slot]:
    """Slots with room for `party_size` people. The first condition repeats the partial
    index's predicate so that PostgreSQL can use the index.

    Only released slots are offered for a first dose (rolling release, R12); a second dose
    lies 3 to 12 weeks later, beyond the window, and is booked with the first.
    """
    queryset = queryset.filter(booked__lt=F("capacity"))
    if released_only:
        queryset = queryset.filter(released=True)
    if party_size > 1:
        queryset = queryset.filter(booked__lte=F("capacity") - party_size)
    return queryset


def second_dose_slots(
    *,
    centre_id: int | OuterRef,
    vaccine: Vaccine,
    first_start: dt.datetime | OuterRef,
    party_size: int,
) -> QuerySet[Slot]:
    """Free second-dose slots inside the vaccine's interval after a first appointment,
    earliest first (closest to the minimum interval)."""
    earliest = dt.timedelta(days=vaccine.min_interval_days or 0)
    latest = dt.timedelta(days=vaccine.max_interval_days or 0)
    if isinstance(first_start, OuterRef):
        lower = ExpressionWrapper(first_start + Value(earliest), output_field=DateTimeField())
        upper = ExpressionWrapper(first_start + Value(latest), output_field=DateTimeField())
    else:
        lower, upper = first_start + earliest, first_start + latest
    return free_seats(
        Slot.objects.filter(
            Q(centre_id=centre_id), vaccine=vaccine, start__gte=lower, start__lte=upper
        ),
        party_size,
        released_only=False,
    ).order_by("start", "id")


def free_pair_options(
    *,
    district_id: int,
    vaccine_id: int,
    date_from: dt.date,
    date_to: dt.date,
    party_size: int = 1,
    region_id: int | None = None,
    limit: int = 20,
    require_second: bool = True,
) -> list[PairOption]:
    """Free first-dose slots in the person's own district (R9) from `date_from` to
    `date_to` (inclusive) that have a free second-dose slot inside the interval; with
    `require_second=False` also those without one (R6: the second is given at the centre)."""
    district = get_district(district_id, region_id=region_id)
    vaccine = get_vaccine(vaccine_id)
    if not vaccine.active:
        raise ServiceError("unknown_vaccine", UNKNOWN_VACCINE, field="vaccine")
    validate_party_size(party_size)
    date_from = as_date(date_from, field="date_from")
    date_to = as_date(date_to, field="date_to")
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ServiceError(
            "limit_invalid", _("Die Anzahl muss eine ganze Zahl sein."), field="limit"
        )
    if date_to < date_from:
        raise ServiceError(
            "date_range_invalid", _("Das Ende liegt vor dem Anfang."), field="date_to"
        )
    if (date_to - date_from).days > MAX_SEARCH_DAYS:
        raise ServiceError(
            "date_range_too_long",
            _("Bitte suchen Sie höchstens ein Jahr im Voraus."),
            field="date_to",
        )
    return pair_options(
        district_id=district.pk,
        vaccine=vaccine,
        date_from=date_from,
        date_to=date_to,
        party_size=party_size,
        limit=limit,
        require_second=require_second,
    )


def _first_dose_slots(
    district_id: int,
    vaccine: Vaccine,
    date_from: dt.date,
    date_to: dt.date,
    party_size: int,
    centre_id: int | None = None,
) -> QuerySet[Slot]:
    slots = Slot.objects.all() if centre_id is None else Slot.objects.filter(centre_id=centre_id)
    return free_seats(
        slots.filter(
            centre__district_id=district_id,
            centre__active=True,
            vaccine=vaccine,
            start__gt=max(timezone.now(), day_start(date_from)),
            start__lt=day_start(date_to + dt.timedelta(days=1)),
        ),
        party_size,
    )


def holder_export(*, holder: str, what: str, which: int) -> dict:
    """The part of a person's copy of their data (GDPR Art. 15) that both modes share:
    every appointment booked under `holder`, the messages sent to them, and when staff
    looked at their record (`what`, `which`) or at their pairs."""
    pair_ids = AppointmentPair.objects.filter(holder=holder).values_list("pk", flat=True)
    return {
        "appointments": holder_appointments_export(holder=holder),
        "messages": holder_messages_export(holder=holder),
        "staff_access": staff_access_export(what=what, which=which, pair_ids=list(pair_ids)),
    }


def holder_appointments_export(*, holder: str) -> list[dict]:
    """Every appointment ever booked under `holder`, cancelled ones too, oldest first: for
    a person's copy of their data (GDPR Art. 15)."""
    appointments = (
        Appointment.objects.filter(pair__holder=holder)
        .select_related("pair", "slot__centre", "slot__vaccine")
        .order_by("slot__start", "dose")
    )
    return [
        {
            "dose": appointment.dose,
            "start": timezone.localtime(appointment.slot.start).isoformat(),
            "status": appointment.get_status_display(),
            "vaccine": appointment.slot.vaccine.name,
            "centre": appointment.slot.centre.name,
            "address": f"{appointment.slot.centre.street}, {appointment.slot.centre.postcode}"
            f" {appointment.slot.centre.city}",
            "booked_at": timezone.localtime(appointment.pair.created_at).isoformat(),
            "booked_by": appointment.pair.get_channel_display(),
            "cancelled_at": timezone.localtime(appointment.pair.cancelled_at).isoformat()
            if appointment.pair.cancelled_at
            else None,
        }
        for appointment in appointments
    ]


def last_appointment_start(holder) -> Subquery:
    """For annotations: the start of the latest appointment (any status) of the pairs
    booked under `holder`, an expression over the outer query's row; None when none."""
    return Subquery(
        Appointment.objects.filter(pair__holder=holder)
        .order_by("-slot__start")
        .values("slot__start")[:1]
    )


def region_has_free_seats(*, region_id: int) -> bool:
    """Whether any active centre of the region has a released slot ahead with a free seat:
    False means nobody can book a first dose there now, whoever comes next (the waiting
    room says so). True does not promise a pair: the second dose may be missing."""
    return free_seats(
        Slot.objects.filter(
            centre__district__region_id=region_id, centre__active=True, start__gt=timezone.now()
        ),
        1,
    ).exists()


def _with_second_dose(firsts: QuerySet[Slot], vaccine: Vaccine, party_size: int) -> QuerySet[Slot]:
    """Each first-dose slot with the earliest free second-dose slot for it (`second_id`)."""
    seconds = second_dose_slots(
        centre_id=OuterRef("centre_id"),
        vaccine=vaccine,
        first_start=OuterRef("start"),
        party_size=party_size,
    )
    return firsts.annotate(second_id=Subquery(seconds.values("id")[:1]))


def free_days(
    *,
    district_id: int,
    vaccine: Vaccine,
    date_from: dt.date,
    date_to: dt.date,
    party_size: int = 1,
    require_second: bool = True,
    centre_id: int | None = None,
) -> list[tuple[dt.date, int]]:
    """The days with bookable first-dose slots in the district (or one centre of it, for a
    registration), with how many (for a calendar by day); the same rule as pair_options."""
    firsts = _first_dose_slots(district_id, vaccine, date_from, date_to, party_size, centre_id)
    if vaccine.doses == 2 and require_second:
        firsts = _with_second_dose(firsts, vaccine, party_size).filter(second_id__isnull=False)
    rows = (
        firsts.annotate(day=TruncDate("start", tzinfo=timezone.get_default_timezone()))
        .order_by()
        .values("day")
        .annotate(count=Count("id"))
        .order_by("day")
    )
    return [(row["day"], row["count"]) for row in rows]


def pair_options(
    *,
    district_id: int,
    vaccine: Vaccine,
    date_from: dt.date,
    date_to: dt.date,
    party_size: int,
    limit: int,
    require_second: bool = True,
    centre_id: int | None = None,
) -> list[PairOption]:
    """free_pair_options for arguments already checked (the booking engine's own use);
    `centre_id` narrows them to one centre of the district."""
    limit = max(1, min(int(limit), 200))
    firsts = _first_dose_slots(
        district_id, vaccine, date_from, date_to, party_size, centre_id
    ).order_by("start", "id")

    if vaccine.doses == 1:
        return [
            PairOption(
                centre_id=c,
                vaccine_id=vaccine.pk,
                first_slot_id=i,
                first_start=s,
                second_slot_id=None,
                second_start=None,
            )
            for i, c, s in firsts.values_list("id", "centre_id", "start")[:limit]
        ]

    firsts = _with_second_dose(firsts, vaccine, party_size)
    if require_second:
        firsts = firsts.filter(second_id__isnull=False)
    rows = list(firsts.values_list("id", "centre_id", "start", "second_id")[:limit])
    second_starts = dict(
        Slot.objects.filter(pk__in=[r[3] for r in rows if r[3]]).values_list("id", "start")
    )
    return [
        PairOption(
            centre_id=c,
            vaccine_id=vaccine.pk,
            first_slot_id=i,
            first_start=s,
            second_slot_id=second,
            second_start=second_starts.get(second),
        )
        for i, c, s, second in rows
    ]


def any_live_pair(*, holders: list[str]) -> bool:
    """Whether any of these holders has a booked pair."""
    return AppointmentPair.objects.filter(holder__in=holders, status=PairStatus.BOOKED).exists()


def live_pair_for(*, holder: str) -> AppointmentPair | None:
    """The holder's live (booked) pair with its appointments, or None."""
    return (
        AppointmentPair.objects.filter(holder=holder, status=PairStatus.BOOKED)
        .select_related("centre", "vaccine")
        .prefetch_related("appointments__slot")
        .first()
    )


def pair_appointments(
    pair: AppointmentPair, status: str = AppointmentStatus.BOOKED
) -> list[Appointment]:
    """The pair's appointments in a status, first dose first, with their slots; from the
    prefetched ones when the caller prefetched `appointments__slot` for many pairs."""
    prefetched = getattr(pair, "_prefetched_objects_cache", {}).get("appointments")
    rows = prefetched if prefetched is not None else pair.appointments.select_related("slot")
    return sorted((a for a in rows if a.status == status), key=lambda a: a.dose)


def booked_appointments(pair: AppointmentPair) -> list[Appointment]:
    """The pair's appointments that still stand, first dose first, with their slots."""
    return pair_appointments(pair, AppointmentStatus.BOOKED)


def in_progress_refusal(appointments: list[Appointment]) -> ServiceError | None:
    """A pair whose first dose is checked in or given is moved or cancelled only at the
    centre: its second appointment belongs to a vaccination under way."""
    if any(
        a.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.VACCINATED)
        for a in appointments
    ):
        return ServiceError(
            "pair_in_progress",
            _("Nach der ersten Impfung wird der Zweittermin im Impfzentrum geändert."),
            field="pair",
        )
    return None


def rebook_refusal(
    *, pair: AppointmentPair, appointments: list[Appointment], now: dt.datetime
) -> ServiceError | None:
    """Why this pair cannot be moved now, or None: the engine raises it, pages show it
    instead of offering the button."""
    in_progress = in_progress_refusal(appointments)
    if in_progress is not None:
        return in_progress
    upcoming = [
        a.slot.start
        for a in appointments
        if a.status == AppointmentStatus.BOOKED and a.slot.start > now
    ]
    cutoff_days = District.objects.values_list("region__rebook_cutoff_days", flat=True).get(
        centres=pair.centre_id
    )
    if upcoming and min(upcoming) - now < dt.timedelta(days=cutoff_days):
        # R20: rebooking is possible until N days before the appointment.
        return ServiceError(
            "rebook_too_late",
            ngettext_lazy(
                "Umbuchen ist nur bis %(days)d Tag vor dem Termin möglich. Bitte rufen Sie die Hotline an.",
                "Umbuchen ist nur bis %(days)d Tage vor dem Termin möglich. Bitte rufen Sie die Hotline an.",
                "days",
            ),
            field="pair",
            days=cutoff_days,
        )
    return None


def seats_left(*, slot_ids: list[int]) -> dict[int, int]:
    """Free seats per slot."""
    return dict(Slot.objects.filter(pk__in=slot_ids).values_list("id", F("capacity") - F("booked")))


def first_dose_candidates(
    *,
    centre_id: int,
    vaccine: Vaccine,
    start_after: dt.datetime,
    until: dt.datetime,
    limit: int,
    require_second: bool = True,
    party_size: int = 1,
) -> list[tuple[int, dt.datetime, int]]:
    """The earliest released first-dose slots of a centre with free seats for
    `party_size` people and, for two doses, a free second-dose slot for them in the
    interval: (id, start, free seats)."""
    if not vaccine.active:
        return []
    firsts = free_seats(
        Slot.objects.filter(
            centre_id=centre_id,
            centre__active=True,
            vaccine=vaccine,
            start__gt=start_after,
            start__lte=until,
        ),
        party_size,
    )
    if vaccine.doses == 2 and require_second:
        firsts = _with_second_dose(firsts, vaccine, party_size).filter(second_id__isnull=False)
    # Ordered by start alone, as the partial index of free slots is: PostgreSQL walks it
    # and stops after `limit` rows, instead of testing every free slot for a second dose.
    rows = firsts.order_by("start").values_list("id", "start", "capacity", "booked")[:limit]
    return sorted(
        ((pk, start, capacity - booked) for pk, start, capacity, booked in rows),
        key=lambda row: (row[1], row[0]),
    )


def live_pairs_for(*, holders: list[str]) -> dict[str, AppointmentPair]:
    """The booked pairs of many holders, by holder."""
    return {
        pair.holder: pair
        for pair in AppointmentPair.objects.filter(holder__in=holders, status=PairStatus.BOOKED)
    }


def chosen_day(raw: str | None, days: list[tuple[dt.date, int]]) -> dt.date | None:
    """The day asked for when it has free times, else the first that has."""
    free = [day for day, _count in days]
    if raw:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            day = None
        if day in free:
            return day
    return free[0] if free else None


@dataclass(frozen=True)
class TimesByDay:
    """What a page of free times shows: the days with free first appointments in the
    release window, the day shown, and its options."""

    days: list[tuple[dt.date, int]]
    day: dt.date | None
    options: list[PairOption]


def times_by_day(
    *,
    requested_day: str | None,
    district_id: int,
    vaccine: Vaccine,
    days_ahead: int,
    party_size: int = 1,
    require_second: bool = True,
    centre_id: int | None = None,
) -> TimesByDay:
    """Free times by day from today to `days_ahead` (the region's release window): every
    channel's times page (citizens, console, registrations) asks this one question."""
    today = timezone.localdate()
    window = {
        "district_id": district_id,
        "vaccine": vaccine,
        "party_size": party_size,
        "require_second": require_second,
        "centre_id": centre_id,
    }
    days = free_days_cached(
        **window, date_from=today, date_to=today + dt.timedelta(days=days_ahead)
    )
    day = chosen_day(requested_day, days)
    options = [] if day is None else _day_options_cached(**window, day=day)
    return TimesByDay(days, day, options)


def free_days_cached(
    *,
    district_id: int,
    vaccine: Vaccine,
    date_from: dt.date,
    date_to: dt.date,
    party_size: int = 1,
    require_second: bool = True,
    centre_id: int | None = None,
) -> list[tuple[dt.date, int]]:
    """free_days from the cache that bookings and cancellations renew (booking.availability):
    what pages and APIs show; the booking engine itself always asks the database."""
    return cached_answer(
        "days",
        district_id=district_id,
        vaccine_id=vaccine.pk,
        params=(party_size, require_second, centre_id, date_from, date_to),
        compute=lambda: free_days(
            district_id=district_id,
            vaccine=vaccine,
            date_from=date_from,
            date_to=date_to,
            party_size=party_size,
            require_second=require_second,
            centre_id=centre_id,
        ),
    )


def _day_options_cached(
    *,
    district_id: int,
    vaccine: Vaccine,
    day: dt.date,
    party_size: int,
    require_second: bool,
    centre_id: int | None,
) -> list[PairOption]:
    return cached_answer(
        "options",
        district_id=district_id,
        vaccine_id=vaccine.pk,
        params=(party_size, require_second, centre_id, day),
        compute=lambda: pair_options(
            district_id=district_id,
            vaccine=vaccine,
            date_from=day,
            date_to=day,
            party_size=party_size,
            limit=200,
            require_second=require_second,
            centre_id=centre_id,
        ),
    )


def no_show_pairs_due(*, region_id: int, grace_days: int, today: dt.date) -> list[tuple[int, str]]:
    """(pair id, holder) of live pairs whose first appointment was missed at least
    `grace_days` days before `today` (issue 7): they give up the rest."""
    cutoff = day_start(today - dt.timedelta(days=grace_days - 1))
    return list(
        Appointment.objects.filter(
            dose=1,
            status=AppointmentStatus.NO_SHOW,
            slot__start__lt=cutoff,
            slot__centre__district__region_id=region_id,
            pair__status=PairStatus.BOOKED,
        )
        .order_by("pair_id")
        .values_list("pair_id", "pair__holder")
    )
