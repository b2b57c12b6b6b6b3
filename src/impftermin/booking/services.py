"""The booking engine: the one path through which every channel books.

Locking discipline (docs/booking-engine.md):
- Capacity is claimed with one conditional UPDATE per slot
  (`booked = booked + n WHERE id = … AND start > now AND booked + n <= capacity`, and
  `released` for a first dose). Its row lock is held to the commit; the CHECK constraint
  `booked <= capacity` backs it up, so no bug can overbook either.
- Lock late: an attempt writes its rows first and claims the seats last, so that the hot
  slot rows stay locked only from the claim to the commit.
- All seat changes of one attempt are applied in ascending slot id, so two transactions
  never wait for each other in a cycle. Pair changes (cancel, rebook) lock the pair row
  first, then the slots.
- Each attempt is one short transaction. A lost seat rolls it back whole: a lost
  second-dose seat is tried again with the next one; a lost first-dose seat returns the next
  free options, read after the rollback (R11).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from impftermin.booking.availability import availability_changed, availability_changed_everywhere
from impftermin.booking.models import (
    SEAT_HOLDING_STATUSES,
    Appointment,
    AppointmentPair,
    AppointmentStatus,
    Channel,
    PairStatus,
    Slot,
)
from impftermin.booking.selectors import (
    MAX_PARTY_SIZE,
    PairOption,
    day_start,
    district_id_of,
    first_dose_candidates,
    get_district,
    local_today,
    pair_options,
    rebook_refusal,
    second_dose_slots,
    validate_party_size,
)
from impftermin.centres.models import Centre, CentreCapacity, CentreClosure
from impftermin.centres.selectors import centre_is_open_on, get_centre, get_vaccine
from impftermin.core.errors import ServiceError
from impftermin.core.validation import as_date, as_id
from impftermin.regions.models import Region
from impftermin.regions.selectors import lock_district
from impftermin.vaccines.models import Vaccine
from impftermin.vaccines.selectors import first_doses_allowed

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


# Called inside the booking's transaction with the new pairs (and the pair they replace, on
# a rebook; the first of them when a couple moves, each old pair points at its successor by
# `replaced_by`): the place for the caller's own writes, such as the confirmation mail,
# which must be written with the booking or not at all.
OnBooked = Callable[[list[AppointmentPair], "AppointmentPair | None"], None]

HOLDER_HAS_LIVE_PAIR = _(
    "Für diese Person ist bereits ein Terminpaar gebucht. Sie können es umbuchen oder stornieren."
)


class SeatCountError(RuntimeError):
    """A slot's booked count no longer matches its appointments: stop, never carry on."""


class _SeatLost(Exception):
    def __init__(self, slot_id: int):
        self.slot_id = slot_id


class _NoPair(Exception):
    """This attempt found no pair for its first slot; `second_lost` when only the
    second-dose seat was taken meanwhile (worth another attempt with the next one)."""

    def __init__(self, first: Slot, second_lost: int | None = None):
        self.first = first
        self.second_lost = second_lost


# --- seats -------------------------------------------------------------------------------


def _apply_seat_changes(
    deltas: dict[int, int], now: dt.datetime, *, first_dose_slot_id: int | None = None
) -> None:
    """Claim (+n) and free (-n) seats in ascending slot id. Raises _SeatLost on the first
    claim that finds no room; the caller's transaction then rolls back.
    The first-dose slot must be released; a second-dose slot may lie beyond the window."""
    for slot_id in sorted(deltas):
        delta = deltas[slot_id]
        if delta > 0:
            claim = Slot.objects.filter(
                pk=slot_id, start__gt=now, booked__lte=F("capacity") - delta
            )
            if slot_id == first_dose_slot_id:
                claim = claim.filter(released=True)
            if claim.update(booked=F("booked") + delta) != 1:
                raise _SeatLost(slot_id)
        elif delta < 0:
            freed = Slot.objects.filter(pk=slot_id, booked__gte=-delta).update(
                booked=F("booked") + delta
            )
            if freed != 1:
                raise SeatCountError(f"slot {slot_id}: fewer booked than appointments to free")
    _availability_after(deltas)


def _availability_after(deltas: dict[int, int]) -> None:
    """Once the transaction has committed (its seat locks released): cached free times
    (booking.availability) are renewed where seats came free or a slot has too few left
    for the largest party (R7); a booking that leaves more keeps them."""

    def renew() -> None:
        rows = Slot.objects.filter(pk__in=list(deltas)).values_list(
            "pk", "vaccine_id", "centre__district_id", "booked", "capacity"
        )
        availability_changed(
            {
                (district_id, vaccine_id)
                for pk, vaccine_id, district_id, booked, capacity in rows
                if deltas[pk] < 0 or capacity - booked < MAX_PARTY_SIZE
            }
        )

    transaction.on_commit(renew)


def _seats_held(appointments: list[Appointment]) -> Counter[int]:
    """How many seats the appointments hold, per slot."""
    return Counter(appointment.slot_id for appointment in appointments)


def _freeing(appointments: list[Appointment]) -> dict[int, int]:
    """The seat changes that give the appointments' seats back."""
    return {slot_id: -held for slot_id, held in _seats_held(appointments).items()}


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


UNKNOWN_SLOT = _("Diesen Termin gibt es nicht.")
UNKNOWN_PAIR = _("Diese Buchung gibt es nicht.")
UNKNOWN_REGION = _("Diese Region gibt es nicht.")


def _slot_id(value: object, field_name: str) -> int:
    return as_id(value, code="unknown_slot", message=UNKNOWN_SLOT, field=field_name)


def _pair_id(value: object) -> int:
    return as_id(value, code="unknown_pair", message=UNKNOWN_PAIR, field="pair")


def _load_slots(first_slot_id: object, second_slot_id: object | None) -> tuple[Slot, Slot | None]:
    """Both slots in one query, with centre and vaccine."""
    first_id = _slot_id(first_slot_id, "first_slot")
    second_id = None if second_slot_id is None else _slot_id(second_slot_id, "second_slot")
    ids = [first_id] if second_id is None else [first_id, second_id]
    slots = {s.pk: s for s in Slot.objects.select_related("centre", "vaccine").filter(pk__in=ids)}
    if first_id not in slots:
        raise ServiceError("unknown_slot", UNKNOWN_SLOT, field="first_slot")
    if second_id is not None and second_id not in slots:
        raise ServiceError("unknown_slot", UNKNOWN_SLOT, field="second_slot")
    return slots[first_id], None if second_id is None else slots[second_id]


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
    if second.centre_id != first.centre_id or second.vaccine_id != first.vaccine_id:
        raise ServiceError(
            "second_slot_mismatch",
            _("Der Zweittermin muss im selben Impfzentrum mit demselben Impfstoff sein."),
            field="second_slot",
        )
    _check_bookable(second, now, "second_slot", first_dose=False)
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


def _check_holders(holders: object) -> list[str]:
    """The holders as a list: a list or tuple of distinct, non-empty keys."""
    if not holders:
        raise ServiceError("holder_missing", _("Für wen soll gebucht werden?"), field="holders")
    if not isinstance(holders, list | tuple):  # a string would book one pair per character
        raise ServiceError(
            "holder_invalid", _("Die Angaben zur Person sind ungültig."), field="holders"
        )
    validate_party_size(len(holders))
    if any(not isinstance(h, str) or not h.strip() or len(h) > 80 or "\x00" in h for h in holders):
        raise ServiceError(
            "holder_invalid", _("Die Angaben zur Person sind ungültig."), field="holders"
        )
    if len(set(holders)) != len(holders):
        raise ServiceError(
            "holder_repeated", _("Jede Person kann nur einmal gebucht werden."), field="holders"
        )
    return list(holders)


def _check_channel(channel: str) -> None:
    if channel not in Channel.values:
        raise ServiceError("channel_invalid", _("Unbekannter Buchungsweg."), field="channel")


def _lock_live_pair(pair_id: int, holder: str) -> AppointmentPair:
    """The holder's live pair, locked for the rest of the transaction. Another holder's
    pair is reported as not found, so that ids reveal nothing."""
    try:
        pair = AppointmentPair.objects.select_for_update().get(pk=_pair_id(pair_id), holder=holder)
    except AppointmentPair.DoesNotExist:
        raise ServiceError("unknown_pair", UNKNOWN_PAIR, field="pair") from None
    if pair.status != PairStatus.BOOKED:
        raise ServiceError("pair_not_live", _("Diese Buchung ist bereits storniert."), field="pair")
    return pair


@dataclass(frozen=True)
class _Rebooking:
    pair_id: int
    holder: str


def _lock_pair_to_rebook(
    rebooking: _Rebooking, now: dt.datetime
) -> tuple[AppointmentPair, list[Appointment]]:
    """The pair to move, locked, and its appointments whose seats go back."""
    pair = _lock_live_pair(rebooking.pair_id, rebooking.holder)
    appointments = list(pair.appointments.select_related("slot"))
    refusal = rebook_refusal(pair=pair, appointments=appointments, now=now)
    if refusal is not None:
        raise refusal
    freed = [a for a in appointments if a.status == AppointmentStatus.BOOKED and a.slot.start > now]
    return pair, freed


# --- booking -----------------------------------------------------------------------------


def _book_once(
    *,
    holders: list[str],
    district_id: int,
    first_slot_id: object,
    second_slot_id: object | None,
    tried_seconds: set[int],
    allow_first_only: bool,
    channel: str,
    rebookings: tuple[_Rebooking, ...],
    on_booked: OnBooked | None,
    vaccine_id: int | None,
    single_dose: bool,
) -> list[AppointmentPair]:
    """One attempt, inside the caller's transaction: validate, write the rows, claim the
    seats. Raises ServiceError for bad input, _NoPair when no pair could be had."""
    now = timezone.now()
    replacing: list[AppointmentPair] = []
    freed: list[Appointment] = []
    for rebooking in sorted(rebookings, key=lambda r: r.pair_id):  # pair rows in a fixed order
        pair, its_freed = _lock_pair_to_rebook(rebooking, now)
        replacing.append(pair)
        freed += its_freed
    # A rebook gives back the seats of the old pair: in the same slot they count as free.
    given_back = _seats_held(freed)
    first, second = _load_slots(first_slot_id, second_slot_id)
    _check_bookable(first, now, "first_slot")
    if first.centre.district_id != district_id:
        # R9: people are vaccinated in their own district's centre(s).
        raise ServiceError(
            "wrong_district",
            _("Termine gibt es nur in den Impfzentren Ihres Kreises (%(district)s)."),
            field="first_slot",
            district=get_district(district_id).name,
        )
    vaccine = first.vaccine
    if vaccine_id is not None and vaccine.pk != vaccine_id:
        # The caller's person may have only this vaccine (eligibility, their codes).
        raise ServiceError(
            "wrong_vaccine",
            _("Dieser Termin ist für einen anderen Impfstoff."),
            field="first_slot",
        )
    party_size = len(holders)
    if first.booked - given_back[first.pk] + party_size > first.capacity:
        raise _NoPair(first)  # visibly full already: no need to write and roll back
    if second is not None:
        if vaccine.doses == 1 or single_dose:
            raise ServiceError(
                "second_not_needed",
                _("Für diesen Impfstoff genügt ein Termin."),
                field="second_slot",
            )
        _check_second(first, second, now)
        if second.booked - given_back[second.pk] + party_size > second.capacity:
            raise _NoPair(first, second_lost=second.pk)
    elif vaccine.doses == 2 and not single_dose:
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
            raise _NoPair(first)

    for pair in replacing:
        _mark_cancelled(pair, [a for a in freed if a.pair_id == pair.pk], now)
    try:
        pairs = _create_pairs(holders, first, second, channel, single_dose=single_dose)
    except IntegrityError:
        # The database's one live pair per holder: this person already has one.
        raise ServiceError("holder_has_live_pair", HOLDER_HAS_LIVE_PAIR, field="holders") from None
    deltas = Counter(_freeing(freed))
    deltas[first.pk] += party_size
    if second is not None:
        deltas[second.pk] += party_size
    try:
        _apply_seat_changes(dict(deltas), now, first_dose_slot_id=first.pk)
    except _SeatLost as lost:
        raise _NoPair(
            first, second_lost=lost.slot_id if second and lost.slot_id == second.pk else None
        ) from None
    by_holder = {pair.holder: pair for pair in pairs}
    for pair in replacing:
        pair.replaced_by = by_holder[pair.holder]
        pair.save(update_fields=["replaced_by"])
    if on_booked is not None:
        on_booked(pairs, replacing[0] if replacing else None)
    return pairs


def _book(
    *,
    holders: list[str],
    district_id: int,
    first_slot_id: object,
    second_slot_id: object | None,
    allow_first_only: bool,
    channel: str,
    rebookings: tuple[_Rebooking, ...] = (),
    on_booked: OnBooked | None = None,
    vaccine_id: int | None = None,
    single_dose: bool = False,
) -> BookingResult:
    """Book pairs for all holders in one first-dose slot and one second-dose slot; all or
    nothing. Each attempt is one transaction (see the module's locking discipline).
    `single_dose`: the first appointment only, also for a two-dose vaccine (R27)."""
    holders = _check_holders(holders)
    district_id = district_id_of(district_id)
    _check_channel(channel)
    single_dose = single_dose is True
    tried_seconds: set[int] = set()
    for _attempt in range(MAX_SECOND_DOSE_TRIES + 1):
        try:
            with transaction.atomic():
                pairs = _book_once(
                    holders=holders,
                    district_id=district_id,
                    first_slot_id=first_slot_id,
                    second_slot_id=second_slot_id,
                    tried_seconds=tried_seconds,
                    allow_first_only=allow_first_only,
                    channel=channel,
                    rebookings=rebookings,
                    on_booked=on_booked,
                    vaccine_id=vaccine_id,
                    single_dose=single_dose,
                )
            return BookingResult(pairs=pairs)
        except _NoPair as no_pair:
            first = no_pair.first
            if no_pair.second_lost is None:
                break
            tried_seconds.add(no_pair.second_lost)
            second_slot_id = None  # take the next free second-dose slot in the interval
    return BookingResult(
        alternatives=pair_options(
            district_id=first.centre.district_id,
            vaccine=first.vaccine,
            date_from=timezone.localdate(first.start),
            date_to=timezone.localdate(first.start) + dt.timedelta(days=ALTERNATIVES_DAYS),
            party_size=len(holders),
            limit=ALTERNATIVES_LIMIT,
            require_second=not single_dose,
        )
    )


def _create_pairs(
    holders: list[str], first: Slot, second: Slot | None, channel: str, *, single_dose: bool
) -> list[AppointmentPair]:
    party = uuid.uuid4() if len(holders) > 1 else None
    # Inserted in holder order: the unique live-pair index makes a second insert for the
    # same holder wait, so two households naming the same people must take them in the same
    # order, or they would deadlock. The pairs come back in the caller's order.
    in_order = sorted(holders)
    created = AppointmentPair.objects.bulk_create(
        AppointmentPair(
            holder=holder,
            vaccine=first.vaccine,
            centre=first.centre,
            channel=channel,
            party=party,
            second_dose_at_centre=first.vaccine.doses == 2 and second is None and not single_dose,
        )
        for holder in in_order
    )
    by_holder = {pair.holder: pair for pair in created}
    pairs = [by_holder[holder] for holder in holders]
    appointments = [Appointment(pair=p, slot=first, dose=1) for p in pairs]
    if second is not None:
        appointments += [Appointment(pair=p, slot=second, dose=2) for p in pairs]
    Appointment.objects.bulk_create(appointments)
    return pairs


def pair_book(
    *,
    holder: str,
    district_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    allow_first_only: bool = False,
    channel: str = Channel.ONLINE,
    on_booked: OnBooked | None = None,
    vaccine_id: int | None = None,
    single_dose: bool = False,
) -> BookingResult:
    """Book a pair for one person: both appointments or neither.

    Without `second_slot_id`, the earliest free second-dose slot inside the interval is
    taken; if the chosen one is taken meanwhile, the next one. With `allow_first_only`, the
    first appointment is booked even when no second is free (R6). With `single_dose`, only
    the first (R27). A lost first-dose seat is no error: the result carries the next free
    options instead (R11).
    """
    return _book(
        holders=[holder],
        district_id=district_id,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        allow_first_only=allow_first_only,
        channel=channel,
        on_booked=on_booked,
        vaccine_id=vaccine_id,
        single_dose=single_dose,
    )


def pairs_book_adjacent(
    *,
    holders: list[str],
    district_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    channel: str = Channel.ONLINE,
    on_booked: OnBooked | None = None,
    vaccine_id: int | None = None,
    single_dose: bool = False,
    replacing: list[tuple[int, str]] | None = None,
) -> BookingResult:
    """Book pairs for a couple or household side by side: the same times at the same
    centre for everyone (R7), or for no one.

    `replacing`: live pairs (pair id, holder) of some of these holders that the new pairs
    replace, in the same transaction and under the same rules as a rebook (R20 cut-off);
    so a couple moves together, and a failed move keeps every old pair."""
    rebookings = []
    for item in replacing or ():
        pair_id, holder = item if isinstance(item, list | tuple) and len(item) == 2 else (0, None)
        if not isinstance(holders, list | tuple) or holder not in holders:
            raise ServiceError("unknown_pair", UNKNOWN_PAIR, field="pair")
        rebookings.append(_Rebooking(pair_id=_pair_id(pair_id), holder=holder))
    if len({r.holder for r in rebookings}) != len(rebookings):
        raise ServiceError("unknown_pair", UNKNOWN_PAIR, field="pair")
    return _book(
        holders=holders,
        district_id=district_id,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        allow_first_only=False,
        channel=channel,
        rebookings=tuple(rebookings),
        on_booked=on_booked,
        vaccine_id=vaccine_id,
        single_dose=single_dose,
    )


@transaction.atomic
def pair_cancel(*, pair_id: int, holder: str) -> AppointmentPair:
    """Cancel a pair; its seats are free for others at once. (The channels refuse it once
    the first dose is under way, `selectors.in_progress_refusal`; the dose record at the
    centre still never gives a second "first" dose.)"""
    pair = _lock_live_pair(pair_id, holder)
    now = timezone.now()
    freed = list(pair.appointments.filter(status=AppointmentStatus.BOOKED, slot__start__gt=now))
    _apply_seat_changes(_freeing(freed), now)
    _mark_cancelled(pair, freed, now)
    return pair


def pair_rebook(
    *,
    pair_id: int,
    holder: str,
    first_slot_id: int,
    second_slot_id: int | None = None,
    channel: str = Channel.ONLINE,
    on_booked: OnBooked | None = None,
    vaccine_id: int | None = None,
    single_dose: bool = False,
) -> BookingResult:
    """Move a live pair to new slots in its district (until the region's cut-off, R20).
    The new seats are claimed in the same transaction that frees the old ones, so a rebook
    that fails (bad input, or the new seats taken meanwhile) keeps the old pair untouched."""
    district_id = (
        AppointmentPair.objects.filter(pk=_pair_id(pair_id), holder=holder)
        .values_list("centre__district_id", flat=True)
        .first()
    )
    if district_id is None:
        raise ServiceError("unknown_pair", UNKNOWN_PAIR, field="pair")
    return _book(
        holders=[holder],
        district_id=district_id,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        allow_first_only=False,
        channel=channel,
        rebookings=(_Rebooking(pair_id=pair_id, holder=holder),),
        on_booked=on_booked,
        vaccine_id=vaccine_id,
        single_dose=single_dose,
    )


# --- slots -------------------------------------------------------------------------------


def _check_date_range(date_from: object, date_to: object) -> tuple[dt.date, dt.date]:
    date_from = as_date(date_from, field="date_from")
    date_to = as_date(date_to, field="date_to")
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
    return date_from, date_to


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
def slots_generate(
    *, centre_id: int, date_from: dt.date, date_to: dt.date, vaccine_id: int | None = None
) -> int:
    """Create the slots that opening hours and capacities (all of the centre's, or one
    vaccine's) give for a date range, and note how far each capacity is generated.
    Idempotent: slots that exist are left as they are. Returns how many were created."""
    # The centre row is locked: generations for one centre run one after the other, so
    # that each counts only the slots it created.
    centre = get_centre(centre_id, lock=True)
    date_from, date_to = _check_date_range(date_from, date_to)
    capacities = centre.capacities.filter(vaccine__active=True)
    if vaccine_id is not None:
        capacities = capacities.filter(vaccine=get_vaccine(vaccine_id))
    hours_by_weekday: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for hours in centre.opening_hours.all():
        hours_by_weekday.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
    bundesland = centre.district.region.bundesland
    closed = set(centre.closures.values_list("day", flat=True))  # issue 7: single days
    planned = plan_slots(
        date_from=date_from,
        date_to=date_to,
        hours_by_weekday=hours_by_weekday,
        capacities=list(capacities.values_list("vaccine_id", "slot_minutes", "seats_per_slot")),
        is_open=lambda day: (
            day not in closed and centre_is_open_on(centre=centre, bundesland=bundesland, day=day)
        ),
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
    capacities.filter(Q(generated_through__isnull=True) | Q(generated_through__lt=date_to)).update(
        generated_through=date_to
    )
    created = window.count() - before
    if created:  # new second-dose seats can make first-dose times bookable
        availability_changed_everywhere()
    return created


def slots_top_up(*, through: dt.date | None = None, region_ids: list[int] | None = None) -> int:
    """Generate slots for every active centre and vaccine up to `through` (default: today
    plus SLOT_PLANNING_DAYS), from the day after what was generated for that capacity, so
    that second doses always find slots and a newly added vaccine gets its slots at once.
    Hand-made slots (slot_create) do not count as generated. Each centre is its own
    transaction (slots_generate); the input is checked before any is written. Returns how
    many slots were created."""
    today = local_today()
    through = today + dt.timedelta(days=settings.SLOT_PLANNING_DAYS) if through is None else through
    _check_date_range(today, through)
    capacities = CentreCapacity.objects.filter(centre__active=True, vaccine__active=True)
    if region_ids is not None:
        capacities = capacities.filter(centre__district__region_id__in=region_ids)
    created = 0
    for centre_id, vaccine_id, generated_through in capacities.order_by(
        "centre_id", "vaccine_id"
    ).values_list("centre_id", "vaccine_id", "generated_through"):
        date_from = (
            today
            if generated_through is None
            else max(today, generated_through + dt.timedelta(days=1))
        )
        if date_from <= through:
            created += slots_generate(
                centre_id=centre_id, date_from=date_from, date_to=through, vaccine_id=vaccine_id
            )
    return created


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
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
        raise ServiceError(
            "capacity_not_positive", _("Die Kapazität muss größer als null sein."), field="capacity"
        )
    if capacity > 32767:
        raise ServiceError("capacity_too_large", _("Die Kapazität ist zu groß."), field="capacity")
    try:
        with transaction.atomic():
            slot = Slot.objects.create(
                centre=centre, vaccine=vaccine, start=start, capacity=capacity, released=released
            )
        availability_changed_everywhere()
        return slot
    except IntegrityError:  # the unique (centre, vaccine, start), also against a parallel create
        raise ServiceError(
            "slot_exists", _("Zu dieser Zeit gibt es schon ein Zeitfenster."), field="start"
        ) from None


@transaction.atomic
def slots_release(*, region_id: int | None = None, today: dt.date | None = None) -> int:
    """Rolling release (R12): make the future slots within the region's window (today and
    the next `release_days_ahead` days) bookable. With `cap_by_allocation` (R9, issue 7) no
    more first-dose seats per district and vaccine than its allocated doses allow: slots
    in time order while they fit; the rest stay for second doses and later deliveries.
    Idempotent, and safe to run twice at once (per district under its row lock)."""
    today = local_today() if today is None else as_date(today, field="today")
    regions = Region.objects.all()
    if region_id is not None:
        pk = as_id(region_id, code="unknown_region", message=UNKNOWN_REGION, field="region")
        regions = regions.filter(pk=pk)
        if not regions.exists():
            raise ServiceError("unknown_region", UNKNOWN_REGION, field="region")
    released = 0
    now = timezone.now()
    for region in regions:
        horizon = day_start(today + dt.timedelta(days=region.release_days_ahead + 1))
        # The centres as a list, not a join: a join makes Django filter through a subquery,
        # which PostgreSQL does not re-check after waiting for a concurrent run, so two runs
        # at once would both count (and release) the same slots.
        centre_ids = list(
            Centre.objects.filter(district__region=region).values_list("pk", flat=True)
        )
        due = Slot.objects.filter(
            centre_id__in=centre_ids, released=False, start__gt=now, start__lt=horizon
        )
        if not region.cap_by_allocation:
            released += due.update(released=True)
            continue
        groups = due.values_list("centre__district_id", "vaccine_id").distinct()
        for district_id, vaccine_id in sorted(set(groups)):
            released += _release_within_allocation(district_id, vaccine_id, due, now)
    if released:
        availability_changed_everywhere()
    return released


@transaction.atomic
def _release_within_allocation(district_id: int, vaccine_id: int, due, now: dt.datetime) -> int:
    """Release the district's due slots of one vaccine while the first-dose seats stay
    within its allocation: given or booked first doses in the past, plus every released
    future seat, plus these. Under the district's row lock (one release at a time)."""
    lock_district(district_id=district_id)
    vaccine = get_vaccine(vaccine_id)
    here = Q(centre__district_id=district_id, vaccine_id=vaccine_id)
    past_first_doses = Appointment.objects.filter(
        Q(slot__centre__district_id=district_id, slot__vaccine_id=vaccine_id),
        dose=1,
        slot__start__lte=now,
        status__in=SEAT_HOLDING_STATUSES,
    ).count()
    open_seats = (
        Slot.objects.filter(here, released=True, start__gt=now).aggregate(n=Sum("capacity"))["n"]
        or 0
    )
    room = first_doses_allowed(district_id=district_id, vaccine=vaccine) - (
        past_first_doses + open_seats
    )
    chosen = []
    for pk, capacity in due.filter(here).order_by("start", "pk").values_list("pk", "capacity"):
        if capacity > room:
            break  # in time order: a later slot does not jump an earlier one
        chosen.append(pk)
        room -= capacity
    return Slot.objects.filter(pk__in=chosen, released=False).update(released=True)


# --- assignment (the Hessen way, R16) --------------------------------------------------------


@dataclass(frozen=True)
class AssignmentRequest:
    """One person of the assignment pool, for a pair at their centre with their vaccine
    (`single_dose`: one appointment only, e.g. recovered persons, R27). With `partner`, a
    couple (R19): both get pairs at the same times side by side, or neither does."""

    holder: str
    centre_id: int
    vaccine_id: int
    single_dose: bool = False
    partner: str | None = None

    @property
    def holders(self) -> list[str]:
        return [self.holder] if self.partner is None else [self.holder, self.partner]


@dataclass
class _FreeSlot:
    id: int
    start: dt.datetime
    free: int


def _second_dose_candidates(
    centre_id: int, vaccine: Vaccine, start_after: dt.datetime, until: dt.datetime
) -> list[_FreeSlot]:
    return [
        _FreeSlot(pk, start, capacity - booked)
        for pk, start, capacity, booked in Slot.objects.filter(
            centre_id=centre_id,
            vaccine=vaccine,
            start__gt=start_after,
            start__lte=until,
            booked__lt=F("capacity"),
        )
        .order_by("start", "id")
        .values_list("id", "start", "capacity", "booked")
    ]


def _plan_assignment(
    requests: list[AssignmentRequest], firsts: list[_FreeSlot], seconds: list[_FreeSlot], vaccine
) -> list[tuple[AssignmentRequest, _FreeSlot, _FreeSlot | None]]:
    """Greedy, in the requests' order (first come, first served): the earliest free first
    appointment and, for two doses, the earliest free second inside the interval. Both
    lists are sorted by start, so both pointers only move forward: linear time."""
    earliest = dt.timedelta(days=vaccine.min_interval_days or 0)
    latest = dt.timedelta(days=vaccine.max_interval_days or 0)
    plan: list[tuple[AssignmentRequest, _FreeSlot, _FreeSlot | None]] = []
    single = pair_first = floor = 0
    for request in requests:
        if request.partner is not None:
            one_dose = request.single_dose or vaccine.doses == 1
            couple = _plan_couple(
                firsts,
                single if one_dose else pair_first,
                seconds,
                floor,
                earliest,
                latest,
                one_dose,
            )
            if couple is not None:
                for slot in couple:
                    if slot is not None:
                        slot.free -= 2
                plan.append((request, *couple))
            continue
        if request.single_dose or vaccine.doses == 1:
            while single < len(firsts) and firsts[single].free == 0:
                single += 1
            if single < len(firsts):
                firsts[single].free -= 1
                plan.append((request, firsts[single], None))
            continue
        chosen = None
        while chosen is None and pair_first < len(firsts):
            first = firsts[pair_first]
            if first.free == 0:
                pair_first += 1
                continue
            # The earliest second that is free and not too early; a full one stays full,
            # and a later first only raises the lower bound.
            while floor < len(seconds) and (
                seconds[floor].free == 0 or seconds[floor].start < first.start + earliest
            ):
                floor += 1
            if floor < len(seconds) and seconds[floor].start <= first.start + latest:
                chosen = (first, seconds[floor])
            else:
                pair_first += 1  # no second dose in reach of this first one
        if chosen is None:
            continue  # nothing for two doses; single-dose requests may still fit
        first, second = chosen
        first.free -= 1
        second.free -= 1
        plan.append((request, first, second))
    return plan


def _plan_couple(
    firsts: list[_FreeSlot],
    first_from: int,
    seconds: list[_FreeSlot],
    second_from: int,
    earliest: dt.timedelta,
    latest: dt.timedelta,
    one_dose: bool,
) -> tuple[_FreeSlot, _FreeSlot | None] | None:
    """A couple's slots (R19): the earliest first appointment with two free seats and, for
    two doses, the earliest second with two free seats inside the interval. It starts where
    the single pointers stand (everything before them is full or out of reach) but does not
    move them: a seat it passes over is still good for one person."""
    later = second_from
    for first in itertools.islice(firsts, first_from, None):
        if first.free < 2:
            continue
        if one_dose:
            return first, None
        while later < len(seconds) and (
            seconds[later].free < 2 or seconds[later].start < first.start + earliest
        ):
            later += 1
        if later < len(seconds) and seconds[later].start <= first.start + latest:
            return first, seconds[later]
    return None


def pairs_assign(
    *, requests: list[AssignmentRequest], window_days: int
) -> dict[str, AppointmentPair]:
    """The assignment engine (R16): pairs for many people at once, each at their centre
    with their vaccine, first come first served in the order given; whoever finds no free
    pair is left out (and stays in the pool). Runs in the caller's transaction.

    The same invariants as a single booking, at batch speed: the slots it will use are
    locked in ascending id (as every booking locks them), their free seats read again under
    the lock, the plan made from those numbers, the pairs inserted in bulk and the seats
    claimed with one UPDATE per slot that re-checks the capacity. Holders that have a live
    pair already are skipped (a couple when either has one). Returns the new pairs by
    holder."""
    now = timezone.now()
    until = day_start(local_today() + dt.timedelta(days=window_days + 1))
    members = [r.holders for r in requests]
    live = set(
        AppointmentPair.objects.filter(
            holder__in=[h for people in members for h in people], status=PairStatus.BOOKED
        ).values_list("holder", flat=True)
    )
    # One group per centre and vaccine: its slots are locked in one statement, in
    # ascending id, and nothing else of that centre and vaccine is locked afterwards.
    groups: dict[tuple[int, int], list[AssignmentRequest]] = {}
    seen: set[str] = set()
    for request, people in zip(requests, members, strict=True):
        if len(set(people)) == len(people) and all(h not in live and h not in seen for h in people):
            seen.update(people)
            groups.setdefault((request.centre_id, request.vaccine_id), []).append(request)
    assigned: dict[str, AppointmentPair] = {}
    with transaction.atomic():
        for (centre_id, vaccine_id), group in sorted(groups.items()):
            vaccine = get_vaccine(vaccine_id)
            one_dose = vaccine.doses == 1 or all(r.single_dose for r in group)
            assigned |= _assign_group(centre_id, vaccine, group, now, until, one_dose)
    return assigned


def _insert_pairs(vaccine: Vaccine, centre_id: int, holders: list[str]) -> list[AppointmentPair]:
    """Assigned pairs, inserted in one statement; returned in the holders' order. On
    PostgreSQL the rows go in as arrays (most of the batch's time was the ORM's per-row
    work); elsewhere through bulk_create."""
    fields = {"vaccine": vaccine, "centre_id": centre_id, "channel": Channel.ASSIGNMENT}
    if connection.vendor != "postgresql":
        return AppointmentPair.objects.bulk_create(
            AppointmentPair(holder=holder, second_dose_at_centre=False, **fields)
            for holder in holders
        )
    table = AppointmentPair._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (holder, vaccine_id, centre_id, status, channel,"  # noqa: S608 - our own table name
            " second_dose_at_centre, created_at)"
            " SELECT h, %s, %s, %s, %s, false, now() FROM unnest(%s::text[]) AS t(h)"
            " RETURNING id, holder, created_at",
            [vaccine.pk, centre_id, PairStatus.BOOKED, Channel.ASSIGNMENT, holders],
        )
        rows = {holder: (pk, created) for pk, holder, created in cursor.fetchall()}
    return [
        AppointmentPair(
            pk=rows[holder][0],
            holder=holder,
            status=PairStatus.BOOKED,
            second_dose_at_centre=False,
            created_at=rows[holder][1],
            **fields,
        )
        for holder in holders
    ]


def _insert_appointments(rows: list[tuple[int, int, int]]) -> None:
    """(pair, slot, dose) rows as booked appointments, in one statement."""
    if connection.vendor != "postgresql":
        Appointment.objects.bulk_create(
            Appointment(pair_id=pair, slot_id=slot, dose=dose) for pair, slot, dose in rows
        )
        return
    pairs, slots, doses = (list(column) for column in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Appointment._meta.db_table} (pair_id, slot_id, dose, status)"  # noqa: S608 - our own table name
            " SELECT p, s, d, %s FROM unnest(%s::bigint[], %s::bigint[], %s::smallint[])"
            " AS t(p, s, d)",
            [AppointmentStatus.BOOKED, pairs, slots, doses],
        )


def _add_seats(deltas: Counter[int]) -> int:
    """Add seats to many locked slots in one statement; returns the rows changed."""
    ids = sorted(deltas)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Slot._meta.db_table} AS s SET booked = s.booked + d.n"  # noqa: S608 - our own table name
                " FROM unnest(%s::bigint[], %s::integer[]) AS d(id, n)"
                " WHERE s.id = d.id AND s.booked + d.n <= s.capacity",
                [ids, [deltas[pk] for pk in ids]],
            )
            changed = cursor.rowcount
    else:
        changed = Slot.objects.filter(pk__in=ids).update(
            booked=F("booked")
            + Case(
                *(When(pk=pk, then=Value(deltas[pk])) for pk in ids), output_field=IntegerField()
            )
        )
    _availability_after(deltas)
    return changed


def _assign_group(
    centre_id: int,
    vaccine,
    group: list[AssignmentRequest],
    now: dt.datetime,
    until: dt.datetime,
    one_dose: bool,
) -> dict[str, AppointmentPair]:
    # Read without locks which slots the group could use, then lock just those, in
    # ascending id, and plan from the numbers read under the lock.
    # Each of these has a free seat (and a second dose in reach): as many slots as people
    # are enough, unless others take seats meanwhile (then some wait for the next run).
    firsts = [
        _FreeSlot(pk, start, free)
        for pk, start, free in first_dose_candidates(
            centre_id=centre_id,
            vaccine=vaccine,
            start_after=now,
            until=until,
            limit=len(group),
            require_second=not one_dose,
        )
    ]
    couples = sum(r.partner is not None for r in group)
    needed, used = len(group) + couples, []
    for slot in firsts:
        if needed <= 0:
            break
        used.append(slot)
        needed -= slot.free
    if couples:
        # Two seats side by side (R19) may lie beyond the slots that have enough seats.
        have = {s.id for s in used}
        used += [
            _FreeSlot(pk, start, free)
            for pk, start, free in first_dose_candidates(
                centre_id=centre_id,
                vaccine=vaccine,
                start_after=now,
                until=until,
                limit=couples,
                require_second=not one_dose,
                party_size=2,
            )
            if pk not in have
        ]
        used.sort(key=lambda s: (s.start, s.id))
    seconds: list[_FreeSlot] = []
    if not one_dose and used:
        seconds = _second_dose_candidates(
            centre_id,
            vaccine,
            used[0].start + dt.timedelta(days=vaccine.min_interval_days) - dt.timedelta(seconds=1),
            used[-1].start + dt.timedelta(days=vaccine.max_interval_days),
        )
    ids = sorted([s.id for s in used] + [s.id for s in seconds])
    if not ids:
        return {}
    locked = {
        pk: (start, capacity - booked, released)
        for pk, start, capacity, booked, released in Slot.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("id")
        .values_list("id", "start", "capacity", "booked", "released")
    }
    firsts = [
        _FreeSlot(s.id, s.start, locked[s.id][1])
        for s in used
        if s.id in locked and locked[s.id][2] and locked[s.id][1] > 0
    ]
    seconds = [
        _FreeSlot(s.id, s.start, locked[s.id][1])
        for s in seconds
        if s.id in locked and locked[s.id][1] > 0
    ]
    # A slot may serve as first dose for one person and as second for another: one count.
    shared: dict[int, _FreeSlot] = {}
    for slot in firsts + seconds:
        slot.free = shared.setdefault(slot.id, slot).free
    firsts = [shared[s.id] for s in firsts]
    seconds = [shared[s.id] for s in seconds]
    plan = _plan_assignment(group, firsts, seconds, vaccine)
    if not plan:
        return {}
    # One pair per person: a couple's two pairs share the slots (and a party id).
    people = [
        (holder, first, second) for request, first, second in plan for holder in request.holders
    ]
    pairs = _insert_pairs(vaccine, centre_id, [holder for holder, _f, _s in people])
    appointments: list[tuple[int, int, int]] = []  # (pair, slot, dose)
    deltas: Counter[int] = Counter()
    for pair, (_holder, first, second) in zip(pairs, people, strict=True):
        appointments.append((pair.pk, first.id, 1))
        deltas[first.id] += 1
        if second is not None:
            appointments.append((pair.pk, second.id, 2))
            deltas[second.id] += 1
    _insert_appointments(appointments)
    if len(people) > len(plan):
        by_holder = {pair.holder: pair for pair in pairs}
        parties = []
        for request, _first, _second in plan:
            if request.partner is not None:
                party = uuid.uuid4()
                for holder in (request.holder, request.partner):
                    by_holder[holder].party = party
                    parties.append(by_holder[holder])
        AppointmentPair.objects.bulk_update(parties, ["party"])
    # One UPDATE for all the group's slots: they are locked and their seats were counted
    # under the lock; the CHECK constraint booked <= capacity still stands behind it.
    claimed = _add_seats(deltas)
    if claimed != len(deltas):  # cannot happen under the lock; never carry on if it does
        raise SeatCountError(f"assignment: {claimed} of {len(deltas)} slots updated")
    return {pair.holder: pair for pair in pairs}


# --- at the centre: check-in and the dose given (issue 7) -------------------------------------

NOT_TODAY = _(
    "Für diese Person gibt es heute keinen Termin in diesem Impfzentrum. Ohne Termin wird nicht geimpft."
)


def _lock_appointment(appointment_id: object, centre_id: int) -> Appointment:
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("slot", "pair__vaccine")
        .filter(
            pk=as_id(
                appointment_id, code="unknown_appointment", message=NOT_TODAY, field="appointment"
            )
        )
        .first()
    )
    if appointment is None or appointment.slot.centre_id != centre_id:
        raise ServiceError("unknown_appointment", NOT_TODAY, field="appointment")
    return appointment


@transaction.atomic
def appointment_check_in(
    *, appointment_id: object, centre_id: int, now: dt.datetime | None = None
) -> Appointment:
    """The person has arrived for today's appointment at this centre. No walk-ins (R5): an
    appointment of another day, another centre, or a cancelled one is refused. Checking in
    twice changes nothing; one marked as not come may still arrive the same day."""
    now = now or timezone.now()
    appointment = _lock_appointment(appointment_id, centre_id)
    if appointment.status == AppointmentStatus.CHECKED_IN:
        return appointment
    if appointment.status == AppointmentStatus.VACCINATED:
        raise ServiceError(
            "already_vaccinated", _("Diese Impfung ist schon erfasst."), field="appointment"
        )
    today = timezone.localdate(now)
    if (
        appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.NO_SHOW)
        or appointment.pair.status != PairStatus.BOOKED
        or timezone.localdate(appointment.slot.start) != today
    ):
        raise ServiceError("not_today", NOT_TODAY, field="appointment")
    appointment.status = AppointmentStatus.CHECKED_IN
    appointment.save(update_fields=["status"])
    return appointment


@transaction.atomic
def appointment_vaccinated(*, appointment_id: object, centre_id: int) -> Appointment:
    """The dose of this checked-in appointment is given (the vaccinations app records it in
    the same transaction)."""
    appointment = _lock_appointment(appointment_id, centre_id)
    if appointment.status == AppointmentStatus.VACCINATED:
        raise ServiceError(
            "already_vaccinated", _("Diese Impfung ist schon erfasst."), field="appointment"
        )
    if appointment.status != AppointmentStatus.CHECKED_IN or appointment.pair.status != (
        PairStatus.BOOKED
    ):
        raise ServiceError(
            "not_checked_in",
            _("Bitte checken Sie die Person zuerst ein."),
            field="appointment",
        )
    appointment.status = AppointmentStatus.VACCINATED
    appointment.save(update_fields=["status"])
    return appointment


@transaction.atomic
def pair_second_add(
    *, pair_id: object, holder: str, second_slot_id: object, now: dt.datetime | None = None
) -> Appointment:
    """R6: a pair booked with its first appointment only gets its second at the centre, on
    the day of the first: a slot at the same centre with the same vaccine inside the
    interval, claimed like any other seat (a full slot is refused, nothing changes)."""
    now = now or timezone.now()
    pair = _lock_live_pair(_pair_id(pair_id), holder)
    appointments = {a.dose: a for a in pair.appointments.select_related("slot__vaccine")}
    first = appointments.get(1)
    if first is None or 2 in appointments or pair.vaccine.doses != 2:
        raise ServiceError(
            "second_not_needed",
            _("Für diese Buchung ist kein Zweittermin zu vergeben."),
            field="second_slot",
        )
    second = (
        Slot.objects.select_related("centre", "vaccine")
        .filter(pk=_slot_id(second_slot_id, "second_slot"))
        .first()
    )
    if second is None:
        raise ServiceError("unknown_slot", UNKNOWN_SLOT, field="second_slot")
    _check_second(first.slot, second, now)
    try:
        _apply_seat_changes({second.pk: 1}, now)
    except _SeatLost:
        raise ServiceError(
            "slot_full", _("Dieser Termin ist inzwischen ausgebucht."), field="second_slot"
        ) from None
    appointment = Appointment.objects.create(pair=pair, slot=second, dose=2)
    if pair.second_dose_at_centre:
        pair.second_dose_at_centre = False
        pair.save(update_fields=["second_dose_at_centre"])
    return appointment


# --- the end of the day: no-shows (issue 7) ---------------------------------------------------


@transaction.atomic
def appointments_no_show_mark(*, before: dt.date) -> int:
    """Appointments of the days before `before` that nobody came to (still booked) are
    no-shows. Idempotent, and a run that was missed catches up the next day. Their seats
    stay counted: the slots are past."""
    return Appointment.objects.filter(
        status=AppointmentStatus.BOOKED,
        pair__status=PairStatus.BOOKED,
        slot__start__lt=day_start(before),
    ).update(status=AppointmentStatus.NO_SHOW)


# --- capacity planning: closures and the preview (issue 7 item 1) ----------------------------


@transaction.atomic
def centre_day_close(*, centre_id: object, day: object, reason: str = "") -> CentreClosure:
    """Close the centre on one future day: no slots are planned for it, and its slots are
    removed — only while nobody has (or had) an appointment then; people with appointments
    would have to be moved first."""
    centre = get_centre(centre_id, lock=True)
    day = as_date(day, field="day")
    if day <= local_today():
        raise ServiceError(
            "day_not_future", _("Schließen lässt sich nur ein künftiger Tag."), field="day"
        )
    if not isinstance(reason, str) or len(reason) > 200:
        raise ServiceError("reason_too_long", _("Bitte höchstens 200 Zeichen."), field="reason")
    slots = Slot.objects.filter(
        centre=centre, start__gte=day_start(day), start__lt=day_start(day + dt.timedelta(days=1))
    )
    if Appointment.objects.filter(slot__in=slots).exists():
        raise ServiceError(
            "day_has_appointments",
            _("An diesem Tag gibt es schon Termine. Bitte verlegen Sie sie zuerst."),
            field="day",
        )
    slots.delete()
    availability_changed_everywhere()
    closure, _created = CentreClosure.objects.get_or_create(
        centre=centre, day=day, defaults={"reason": reason.strip()}
    )
    return closure


@transaction.atomic
def centre_day_reopen(*, centre_id: object, day: object) -> int:
    """Open a closed day again; its slots come with the next generation."""
    centre = get_centre(centre_id)
    deleted, _rows = CentreClosure.objects.filter(
        centre=centre, day=as_date(day, field="day")
    ).delete()
    return deleted


@dataclass(frozen=True)
class PreviewDay:
    day: dt.date
    closed: bool
    planned: dict[str, int]  # vaccine name → seats the opening hours and capacities give
    existing: int  # seats in slots that exist already
    released: int  # of those, bookable


def slots_preview(*, centre_id: object, date_from: object, date_to: object) -> list[PreviewDay]:
    """What generating slots for these days would give, beside what exists: read only."""
    centre = get_centre(centre_id)
    date_from, date_to = _check_date_range(date_from, date_to)
    bundesland = centre.district.region.bundesland
    closed = set(centre.closures.values_list("day", flat=True))
    hours_by_weekday: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for hours in centre.opening_hours.all():
        hours_by_weekday.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
    capacities = centre.capacities.filter(vaccine__active=True).select_related("vaccine")
    names = {c.vaccine_id: c.vaccine.name for c in capacities}
    planned = plan_slots(
        date_from=date_from,
        date_to=date_to,
        hours_by_weekday=hours_by_weekday,
        capacities=[(c.vaccine_id, c.slot_minutes, c.seats_per_slot) for c in capacities],
        is_open=lambda d: (
            d not in closed and centre_is_open_on(centre=centre, bundesland=bundesland, day=d)
        ),
    )
    by_day: dict[dt.date, dict[str, int]] = {}
    for slot in planned:
        seats = by_day.setdefault(timezone.localdate(slot.start), {})
        seats[names[slot.vaccine_id]] = seats.get(names[slot.vaccine_id], 0) + slot.capacity
    existing = {
        row["day"]: row
        for row in Slot.objects.filter(
            centre=centre,
            start__gte=day_start(date_from),
            start__lt=day_start(date_to + dt.timedelta(days=1)),
        )
        .annotate(day=TruncDate("start", tzinfo=timezone.get_default_timezone()))
        .values("day")
        .annotate(seats=Sum("capacity"), released=Sum("capacity", filter=Q(released=True)))
    }
    days = []
    day = date_from
    while day <= date_to:
        row = existing.get(day, {})
        days.append(
            PreviewDay(
                day=day,
                closed=day in closed,
                planned=by_day.get(day, {}),
                existing=row.get("seats") or 0,
                released=row.get("released") or 0,
            )
        )
        day += dt.timedelta(days=1)
    return days
