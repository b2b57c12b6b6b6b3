"""The booking engine: the one path through which every channel books.

Locking discipline (see docs/booking-engine.md):
- Capacity is claimed with a single conditional UPDATE per slot
  (`booked = booked + n WHERE id = … AND released AND start > now AND booked + n <= capacity`);
  the row lock it takes is held to the end of the transaction, and the CHECK constraint
  `booked <= capacity` backs it up.
- All seat changes of one use case are applied in ascending slot id, so two transactions
  never wait for each other in a cycle.
- Pair changes (cancel, rebook) first lock the pair row, then the slots.
- A claim runs inside a savepoint: when a seat is lost, rolling back to the savepoint undoes
  the claims made so far and releases their locks, and the service tries the next option.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from impftermin.booking.models import (
    Appointment,
    AppointmentPair,
    AppointmentStatus,
    Channel,
    PairStatus,
    Slot,
)
from impftermin.booking.selectors import (
    PairOption,
    day_start,
    free_pair_options,
    get_district,
    local_today,
    second_dose_slots,
    validate_party_size,
)
from impftermin.centres.models import Centre
from impftermin.centres.selectors import centre_is_open_on
from impftermin.centres.services import get_centre, get_vaccine
from impftermin.core.errors import ServiceError
from impftermin.regions.models import Region

MAX_SECOND_DOSE_TRIES = 5  # other second-dose slots tried when the chosen one was taken
ALTERNATIVES_DAYS = 14
ALTERNATIVES_LIMIT = 10
MAX_GENERATE_DAYS = 366


@dataclass
class BookingResult:
    """Either the booked pairs, or — after a lost race — the next free options (R11)."""

    pairs: list[AppointmentPair] = field(default_factory=list)
    alternatives: list[PairOption] = field(default_factory=list)

    @property
    def booked(self) -> bool:
        return bool(self.pairs)


class _SeatLost(Exception):
    def __init__(self, slot_id: int):
        self.slot_id = slot_id


# --- seats -------------------------------------------------------------------------------


def _apply_seat_changes(
    deltas: dict[int, int], now: dt.datetime, *, first_dose_slot_id: int | None = None
) -> None:
    """Claim (+n) and free (-n) seats in ascending slot id. Raises _SeatLost on the first
    claim that finds no room; the caller's savepoint undoes the claims made before.
    The first-dose slot must be released; a second-dose slot may lie beyond the window."""
    for slot_id in sorted(deltas):
        delta = deltas[slot_id]
        if delta > 0:
            claim = Slot.objects.filter(
                pk=slot_id, start__gt=now, booked__lte=F("capacity") - delta
            )
            if slot_id == first_dose_slot_id:
                claim = claim.filter(released=True)
            claimed = claim.update(booked=F("booked") + delta)
            if claimed != 1:
                raise _SeatLost(slot_id)
        elif delta < 0:
            freed = Slot.objects.filter(pk=slot_id, booked__gte=-delta).update(
                booked=F("booked") + delta
            )
            if freed != 1:  # the count no longer matches the appointments: never carry on
                raise IntegrityError(
                    f"slot {slot_id}: booked count below the appointments it holds"
                )


def _seats_to_free(pair: AppointmentPair, now: dt.datetime) -> list[Appointment]:
    """Appointments of a pair whose seats go back: booked and still to come."""
    return list(pair.appointments.filter(status=AppointmentStatus.BOOKED, slot__start__gt=now))


def _seat_returns(appointments: list[Appointment]) -> dict[int, int]:
    returns: Counter[int] = Counter()
    for appointment in appointments:
        returns[appointment.slot_id] -= 1
    return dict(returns)


def _mark_cancelled(
    pair: AppointmentPair, appointments: list[Appointment], now: dt.datetime
) -> None:
    Appointment.objects.filter(pk__in=[a.pk for a in appointments]).update(
        status=AppointmentStatus.CANCELLED
    )
    pair.status = PairStatus.CANCELLED
    pair.cancelled_at = now
    pair.save(update_fields=["status", "cancelled_at"])


# --- validation --------------------------------------------------------------------------


def _load_slot(slot_id: int, field_name: str) -> Slot:
    try:
        return Slot.objects.select_related("centre__district", "vaccine").get(pk=slot_id)
    except (Slot.DoesNotExist, ValueError, TypeError):
        raise ServiceError(
            "unknown_slot", _("Diesen Termin gibt es nicht."), field=field_name
        ) from None


def _check_bookable(
    slot: Slot, now: dt.datetime, field_name: str, *, first_dose: bool = True
) -> None:
    if slot.start <= now:
        raise ServiceError(
            "slot_in_past", _("Dieser Termin liegt in der Vergangenheit."), field=field_name
        )
    if first_dose and not slot.released:
        raise ServiceError(
            "slot_not_released", _("Dieser Termin ist noch nicht buchbar."), field=field_name
        )
    if not slot.vaccine.active or not slot.centre.active:
        raise ServiceError(
            "slot_not_offered", _("Dieser Termin wird nicht mehr angeboten."), field=field_name
        )


def _check_second(first: Slot, second: Slot, now: dt.datetime) -> None:
    _check_bookable(second, now, "second_slot", first_dose=False)
    if second.centre_id != first.centre_id or second.vaccine_id != first.vaccine_id:
        raise ServiceError(
            "second_slot_mismatch",
            _("Der Zweittermin muss im selben Impfzentrum mit demselben Impfstoff sein."),
            field="second_slot",
        )
    vaccine = first.vaccine
    gap = second.start - first.start
    if (
        not dt.timedelta(days=vaccine.min_interval_days)
        <= gap
        <= dt.timedelta(days=vaccine.max_interval_days)
    ):
        raise ServiceError(
            "interval_violated",
            _("Der Zweittermin muss %(min)d bis %(max)d Tage nach dem Ersttermin liegen."),
            field="second_slot",
            min=vaccine.min_interval_days,
            max=vaccine.max_interval_days,
        )


def _check_holders(holders: list[str]) -> None:
    if not holders:
        raise ServiceError("holder_missing", _("Für wen soll gebucht werden?"), field="holders")
    validate_party_size(len(holders))
    if any(not isinstance(h, str) or not h.strip() or len(h) > 80 for h in holders):
        raise ServiceError(
            "holder_invalid", _("Die Angaben zur Person sind ungültig."), field="holders"
        )
    if len(set(holders)) != len(holders):
        raise ServiceError(
            "holder_repeated", _("Jede Person kann nur einmal gebucht werden."), field="holders"
        )


def _check_no_live_pair(holders: list[str], *, except_pair: AppointmentPair | None = None) -> None:
    live = AppointmentPair.objects.filter(holder__in=holders, status=PairStatus.BOOKED)
    if except_pair is not None:
        live = live.exclude(pk=except_pair.pk)
    if live.exists():
        raise ServiceError(
            "holder_has_live_pair",
            _(
                "Für diese Person ist bereits ein Terminpaar gebucht. Sie können es umbuchen oder stornieren."
            ),
            field="holders",
        )


def _check_channel(channel: str) -> None:
    if channel not in Channel.values:
        raise ServiceError("channel_invalid", _("Unbekannter Buchungsweg."), field="channel")


def _lock_live_pair(pair_id: int, holder: str) -> AppointmentPair:
    """The holder's live pair, locked for the rest of the transaction. Another holder's
    pair is reported as not found, so that ids reveal nothing."""
    try:
        pair = AppointmentPair.objects.select_for_update().get(pk=pair_id, holder=holder)
    except (AppointmentPair.DoesNotExist, ValueError, TypeError):
        raise ServiceError(
            "unknown_pair", _("Diese Buchung gibt es nicht."), field="pair"
        ) from None
    if pair.status != PairStatus.BOOKED:
        raise ServiceError("pair_not_live", _("Diese Buchung ist bereits storniert."), field="pair")
    return pair


# --- booking -----------------------------------------------------------------------------


def _book(
    *,
    holders: list[str],
    district_id: int,
    first_slot_id: int,
    second_slot_id: int | None,
    allow_first_only: bool,
    channel: str,
    replacing: AppointmentPair | None = None,
) -> BookingResult:
    """Claim seats for all holders in one first-dose slot and one second-dose slot and
    create their pairs; all or nothing. Runs inside the caller's transaction."""
    _check_holders(holders)
    _check_channel(channel)
    now = timezone.now()
    district = get_district(district_id)
    first = _load_slot(first_slot_id, "first_slot")
    _check_bookable(first, now, "first_slot")
    if first.centre.district_id != district.pk:
        # R9: people are vaccinated in their own district's centre(s).
        raise ServiceError(
            "wrong_district",
            _("Termine gibt es nur in den Impfzentren Ihres Kreises (%(district)s)."),
            field="first_slot",
            district=district.name,
        )
    vaccine = first.vaccine
    second: Slot | None = None
    if vaccine.doses == 1 and second_slot_id is not None:
        raise ServiceError(
            "second_not_needed", _("Für diesen Impfstoff genügt ein Termin."), field="second_slot"
        )
    if vaccine.doses == 2 and second_slot_id is not None:
        second = _load_slot(second_slot_id, "second_slot")
        _check_second(first, second, now)
    _check_no_live_pair(holders, except_pair=replacing)

    party_size = len(holders)
    freed = _seats_to_free(replacing, now) if replacing else []
    tried_seconds: set[int] = set()
    for _attempt in range(MAX_SECOND_DOSE_TRIES + 1):
        if vaccine.doses == 2 and second is None:
            second = (
                second_dose_slots(
                    centre_id=first.centre_id,
                    vaccine=vaccine,
                    first_start=first.start,
                    party_size=party_size,
                )
                .exclude(pk__in=tried_seconds)
                .first()
            )
            if second is None and not allow_first_only:
                break
        deltas: Counter[int] = Counter(_seat_returns(freed))
        deltas[first.pk] += party_size
        if second is not None:
            deltas[second.pk] += party_size
        try:
            with transaction.atomic():
                _apply_seat_changes(dict(deltas), now, first_dose_slot_id=first.pk)
                if replacing is not None:
                    _mark_cancelled(replacing, freed, now)
                pairs = _create_pairs(holders, first, second, channel)
                if replacing is not None:
                    replacing.replaced_by = pairs[0]
                    replacing.save(update_fields=["replaced_by"])
            return BookingResult(pairs=pairs)
        except _SeatLost as lost:
            if second is None or lost.slot_id != second.pk:
                break  # the first-dose seat is gone: offer the next options
            tried_seconds.add(second.pk)
            second = None

    return BookingResult(
        alternatives=free_pair_options(
            district_id=district.pk,
            vaccine_id=vaccine.pk,
            date_from=timezone.localdate(first.start),
            date_to=timezone.localdate(first.start) + dt.timedelta(days=ALTERNATIVES_DAYS),
            party_size=party_size,
            limit=ALTERNATIVES_LIMIT,
        )
    )


def _create_pairs(
    holders: list[str], first: Slot, second: Slot | None, channel: str
) -> list[AppointmentPair]:
    party = uuid.uuid4() if len(holders) > 1 else None
    pairs = [
        AppointmentPair(
            holder=holder,
            vaccine=first.vaccine,
            centre=first.centre,
            channel=channel,
            party=party,
            second_dose_at_centre=first.vaccine.doses == 2 and second is None,
        )
        for holder in holders
    ]
    try:
        with transaction.atomic():
            AppointmentPair.objects.bulk_create(pairs)
    except IntegrityError:
        # Another transaction booked for the same holder meanwhile (unique live pair).
        raise ServiceError(
            "holder_has_live_pair",
            _(
                "Für diese Person ist bereits ein Terminpaar gebucht. Sie können es umbuchen oder stornieren."
            ),
            field="holders",
        ) from None
    appointments = [Appointment(pair=p, slot=first, dose=1) for p in pairs]
    if second is not None:
        appointments += [Appointment(pair=p, slot=second, dose=2) for p in pairs]
    Appointment.objects.bulk_create(appointments)
    return pairs


@transaction.atomic
def pair_book(
    *,
    holder: str,
    district_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    allow_first_only: bool = False,
    channel: str = Channel.ONLINE,
) -> BookingResult:
    """Book a pair for one person: both appointments or neither.

    Without `second_slot_id`, the earliest free second-dose slot inside the interval is
    taken; if the chosen one is taken meanwhile, the next one. With `allow_first_only`, the
    first appointment is booked even when no second is free (R6).
    """
    return _book(
        holders=[holder],
        district_id=district_id,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        allow_first_only=allow_first_only,
        channel=channel,
    )


@transaction.atomic
def pairs_book_adjacent(
    *,
    holders: list[str],
    district_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    channel: str = Channel.ONLINE,
) -> BookingResult:
    """Book pairs for a couple or household side by side: the same times at the same
    centre for everyone (R7), or for no one."""
    return _book(
        holders=list(holders),
        district_id=district_id,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        allow_first_only=False,
        channel=channel,
    )


@transaction.atomic
def pair_cancel(*, pair_id: int, holder: str) -> AppointmentPair:
    """Cancel a pair; its seats are free for others at once."""
    pair = _lock_live_pair(pair_id, holder)
    now = timezone.now()
    freed = _seats_to_free(pair, now)
    _apply_seat_changes(_seat_returns(freed), now)
    _mark_cancelled(pair, freed, now)
    return pair


@transaction.atomic
def pair_rebook(
    *,
    pair_id: int,
    holder: str,
    first_slot_id: int,
    second_slot_id: int | None = None,
    channel: str = Channel.ONLINE,
) -> BookingResult:
    """Move a live pair to new slots in the same district. The new seats are claimed in the
    same transaction that frees the old ones, so a rebook that fails (bad input, or the new
    seats taken meanwhile) keeps the old pair untouched."""
    pair = _lock_live_pair(pair_id, holder)
    now = timezone.now()
    appointments = list(pair.appointments.select_related("slot"))
    if any(
        a.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.VACCINATED)
        for a in appointments
    ):
        raise ServiceError(
            "pair_in_progress",
            _("Nach der ersten Impfung wird der Zweittermin im Impfzentrum geändert."),
            field="pair",
        )
    region = Region.objects.get(districts__centres=pair.centre_id)
    upcoming = [
        a.slot.start
        for a in appointments
        if a.status == AppointmentStatus.BOOKED and a.slot.start > now
    ]
    if upcoming and min(upcoming) - now < dt.timedelta(days=region.rebook_cutoff_days):
        # R20: rebooking is possible until N days before the appointment.
        raise ServiceError(
            "rebook_too_late",
            _(
                "Umbuchen ist nur bis %(days)d Tage vor dem Termin möglich. Bitte rufen Sie die Hotline an."
            ),
            field="pair",
            days=region.rebook_cutoff_days,
        )
    district_id = Centre.objects.values_list("district_id", flat=True).get(pk=pair.centre_id)
    return _book(
        holders=[holder],
        district_id=district_id,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        allow_first_only=False,
        channel=channel,
        replacing=pair,
    )


# --- slots -------------------------------------------------------------------------------


def _check_date_range(date_from: dt.date, date_to: dt.date) -> None:
    if date_from < local_today():
        raise ServiceError(
            "slot_in_past", _("Für vergangene Tage gibt es keine Termine."), field="date_from"
        )
    if date_to < date_from:
        raise ServiceError(
            "date_range_invalid", _("Das Ende liegt vor dem Anfang."), field="date_to"
        )
    if (date_to - date_from).days >= MAX_GENERATE_DAYS:
        raise ServiceError(
            "date_range_too_long",
            _("Termine lassen sich höchstens ein Jahr im Voraus anlegen."),
            field="date_to",
        )


@dataclass(frozen=True)
class PlannedSlot:
    vaccine_id: int
    start: dt.datetime
    capacity: int


def plan_slots(
    *,
    date_from: dt.date,
    date_to: dt.date,
    hours_by_weekday: dict[int, list[tuple[dt.time, dt.time]]],
    capacities: list[tuple[int, int, int]],
    is_open: Callable[[dt.date], bool],
) -> list[PlannedSlot]:
    """The slots that opening hours and capacities (vaccine id, minutes, seats) give from
    `date_from` to `date_to`: whole time units inside each opening period, on the days
    `is_open` allows. Pure, so that it can be checked with generated inputs."""
    tz = timezone.get_default_timezone()
    planned = []
    day = date_from
    while day <= date_to:
        if is_open(day):
            for opens, closes in hours_by_weekday.get(day.weekday(), []):
                end = dt.datetime.combine(day, closes, tzinfo=tz)
                for vaccine_id, minutes, seats in capacities:
                    step = dt.timedelta(minutes=minutes)
                    start = dt.datetime.combine(day, opens, tzinfo=tz)
                    while start + step <= end:
                        planned.append(PlannedSlot(vaccine_id, start, seats))
                        start += step
        day += dt.timedelta(days=1)
    return planned


@transaction.atomic
def slots_generate(*, centre_id: int, date_from: dt.date, date_to: dt.date) -> int:
    """Create the slots that opening hours and capacities give for a date range.
    Idempotent: slots that exist are left as they are. Returns how many were created."""
    centre = get_centre(centre_id)
    _check_date_range(date_from, date_to)
    hours_by_weekday: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for hours in centre.opening_hours.all():
        hours_by_weekday.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
    bundesland = centre.district.region.bundesland
    planned = plan_slots(
        date_from=date_from,
        date_to=date_to,
        hours_by_weekday=hours_by_weekday,
        capacities=list(
            centre.capacities.filter(vaccine__active=True).values_list(
                "vaccine_id", "slot_minutes", "seats_per_slot"
            )
        ),
        is_open=lambda day: centre_is_open_on(centre=centre, bundesland=bundesland, day=day),
    )
    now = timezone.now()
    slots = [
        Slot(centre=centre, vaccine_id=p.vaccine_id, start=p.start, capacity=p.capacity)
        for p in planned
        if p.start > now
    ]
    window = Slot.objects.filter(
        centre=centre,
        start__gte=day_start(date_from),
        start__lt=day_start(date_to + dt.timedelta(days=1)),
    )
    before = window.count()
    Slot.objects.bulk_create(slots, batch_size=2000, ignore_conflicts=True)
    return window.count() - before


@transaction.atomic
def slot_create(
    *, centre_id: int, vaccine_id: int, start: dt.datetime, capacity: int, released: bool = False
) -> Slot:
    """Add one slot by hand (an extra session, say)."""
    centre = get_centre(centre_id)
    vaccine = get_vaccine(vaccine_id)
    if not isinstance(start, dt.datetime) or timezone.is_naive(start):
        raise ServiceError(
            "start_invalid", _("Bitte geben Sie Datum und Uhrzeit an."), field="start"
        )
    if start <= timezone.now():
        raise ServiceError(
            "slot_in_past", _("Dieser Termin liegt in der Vergangenheit."), field="start"
        )
    if not isinstance(capacity, int) or capacity <= 0:
        raise ServiceError(
            "capacity_not_positive", _("Die Kapazität muss größer als null sein."), field="capacity"
        )
    if capacity > 32767:
        raise ServiceError("capacity_too_large", _("Die Kapazität ist zu groß."), field="capacity")
    if Slot.objects.filter(centre=centre, vaccine=vaccine, start=start).exists():
        raise ServiceError(
            "slot_exists", _("Zu dieser Zeit gibt es schon ein Zeitfenster."), field="start"
        )
    return Slot.objects.create(
        centre=centre, vaccine=vaccine, start=start, capacity=capacity, released=released
    )


@transaction.atomic
def slots_release(*, region_id: int | None = None, today: dt.date | None = None) -> int:
    """Rolling release (R12): make every future slot bookable that lies within the
    region's window (today and the next `release_days_ahead` days). Idempotent."""
    today = today or local_today()
    regions = Region.objects.all() if region_id is None else Region.objects.filter(pk=region_id)
    released = 0
    for region in regions:
        horizon = day_start(today + dt.timedelta(days=region.release_days_ahead + 1))
        released += Slot.objects.filter(
            centre__district__region=region,
            released=False,
            start__gt=timezone.now(),
            start__lt=horizon,
        ).update(released=True)
    return released
