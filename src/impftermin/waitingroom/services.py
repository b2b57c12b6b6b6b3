"""The waiting room's use cases: is a region's room on, a visitor's ticket and place, the
signed ticket and admission, and what operators see. Tickets and admissions are values
signed with the secret key (django.core.signing): a visitor can keep them (a second tab,
a reload) but not forge or move them."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache

from impftermin.booking.selectors import region_has_free_seats
from impftermin.core.throttle import window_count
from impftermin.waitingroom.models import RoomMode, WaitingRoom
from impftermin.waitingroom.queues import DatabaseQueue, Line, queue

log = logging.getLogger(__name__)

SETTINGS_SECONDS = 2  # a room's settings are read from the database at most this often
CROWDED_MINUTES = 10  # auto mode stays on this long after the last crowded second
TICKET_DAYS = 1
TICKET_SALT = "waiting-room-ticket"
clock = time.time  # the queue's time (the tests move it)
ADMISSION_SALT = "waiting-room-admission"


@dataclass(frozen=True)
class Room:
    id: int
    region_id: int
    mode: str
    rate: int
    threshold: int
    minutes: int
    crowded_until: float  # epoch seconds; 0: not crowded

    def active(self, now: float) -> bool:
        return self.mode == RoomMode.ON or (self.mode == RoomMode.AUTO and self.crowded_until > now)


def _cache_key(region_id: int) -> str:
    return f"waiting-room-settings:{region_id}"


def room_for(region_id: int) -> Room | None:
    """The region's room settings (from a short-lived cache), None without a room."""
    key = _cache_key(region_id)
    found = cache.get(key)
    if found is None:
        row = WaitingRoom.objects.filter(region_id=region_id).first()
        found = (
            False
            if row is None
            else Room(
                id=row.pk,
                region_id=region_id,
                mode=row.mode,
                rate=row.admissions_per_second,
                threshold=row.auto_arrivals_per_second,
                minutes=row.admission_minutes,
                crowded_until=row.crowded_until.timestamp() if row.crowded_until else 0.0,
            )
        )
        cache.set(key, found, SETTINGS_SECONDS)
    return found or None


def arrival_count(room: Room, now: float) -> None:
    """Count an arrival (auto mode): the first arrival beyond the threshold within one
    second turns the room on for CROWDED_MINUTES (extended while it stays crowded)."""
    if room.mode != RoomMode.AUTO:
        return
    if window_count(f"waiting-room-arrivals:{room.id}", 1, now) == room.threshold + 1:
        until = dt.datetime.fromtimestamp(now + CROWDED_MINUTES * 60, tz=dt.UTC)
        WaitingRoom.objects.filter(pk=room.id).update(crowded_until=until)
        cache.delete(_cache_key(room.region_id))
        log.warning("waiting room of region %s switched on: crowded", room.region_id)


@dataclass(frozen=True)
class Ticket:
    number: int
    backend: str


def _backend(name: str | None = None):
    """The configured queue, or the database when asked for it or when Redis cannot be
    reached (the service degrades, it does not stop)."""
    if name == "DatabaseQueue":
        return DatabaseQueue()
    try:
        return queue()
    except Exception:
        log.exception("waiting room: Redis unavailable, using the database")
        return DatabaseQueue()


def ticket_take(room: Room, now: float | None = None) -> Ticket:
    now = clock() if now is None else now
    backend = _backend()
    try:
        number = backend.take_ticket(room.id, room.rate, now)
    except Exception:
        if isinstance(backend, DatabaseQueue):
            raise
        log.exception("waiting room: Redis failed, using the database")
        backend = DatabaseQueue()
        number = backend.take_ticket(room.id, room.rate, now)
    return Ticket(number, type(backend).__name__)


def room_line(room: Room, backend_name: str | None = None, now: float | None = None) -> Line:
    now = clock() if now is None else now
    backend = _backend(backend_name)
    try:
        return backend.line(room.id, room.rate, now)
    except Exception:
        if isinstance(backend, DatabaseQueue):
            raise
        log.exception("waiting room: Redis failed, using the database")
        return DatabaseQueue().line(room.id, room.rate, now)


@dataclass(frozen=True)
class Place:
    ahead: int  # people before this ticket still waiting
    wait_seconds: int
    admitted: bool


SOLD_OUT_SECONDS = 10


def region_sold_out(region_id: int) -> bool:
    """Every released seat of the region is taken (read at most every SOLD_OUT_SECONDS):
    those waiting are told at once instead of after their wait; they keep their places
    for when seats come free or new ones are released."""
    return not cache.get_or_set(
        f"waiting-room-free-seats:{region_id}",
        lambda: region_has_free_seats(region_id=region_id),
        SOLD_OUT_SECONDS,
    )


def ticket_place(room: Room, ticket: Ticket, now: float | None = None) -> Place:
    line = room_line(room, ticket.backend, now)
    ahead = max(0, ticket.number - line.admitted - 1)
    if ticket.number <= line.admitted:
        return Place(0, 0, True)
    return Place(ahead, int((ticket.number - line.admitted) / room.rate) + 1, False)


# --- signed values in cookies -------------------------------------------------------------


def ticket_cookie_name(region_id: int) -> str:
    return f"wr-ticket-{region_id}"


def admission_cookie_name(region_id: int) -> str:
    return f"wr-pass-{region_id}"


def ticket_signed(region_id: int, ticket: Ticket) -> str:
    return signing.dumps(
        {"r": region_id, "n": ticket.number, "b": ticket.backend}, salt=TICKET_SALT
    )


def ticket_from(value: object, region_id: int) -> Ticket | None:
    """The ticket a cookie holds, if it is ours, unchanged, for this region and recent."""
    if not isinstance(value, str) or len(value) > 300:
        return None
    try:
        data = signing.loads(value, salt=TICKET_SALT, max_age=dt.timedelta(days=TICKET_DAYS))
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("r") != region_id:
        return None
    number, backend = data.get("n"), data.get("b")
    if not isinstance(number, int) or not isinstance(backend, str):
        return None
    return Ticket(number, backend)


def admission_signed(region_id: int) -> str:
    return signing.dumps({"r": region_id}, salt=ADMISSION_SALT)


def admission_valid(value: object, room: Room) -> bool:
    """An admission for this region, issued less than the room's minutes ago."""
    if not isinstance(value, str) or len(value) > 300:
        return False
    try:
        data = signing.loads(value, salt=ADMISSION_SALT, max_age=dt.timedelta(minutes=room.minutes))
    except signing.BadSignature:
        return False
    return isinstance(data, dict) and data.get("r") == room.region_id


# --- operators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomFigures:
    active: bool
    waiting: int
    rate: int
    wait_minutes: int


def room_figures(room_row: WaitingRoom) -> RoomFigures:
    """What operators see: on or off, people waiting, the rate, the wait of the last."""
    room = room_for(room_row.region_id)
    now = clock()
    line = room_line(room, now=now)
    waiting = line.tail - line.admitted
    return RoomFigures(
        active=room.active(now),
        waiting=waiting,
        rate=room.rate,
        wait_minutes=-(-waiting // (room.rate * 60)) if waiting else 0,
    )


def waiting_room_ensure(*, region_id: int) -> bool:
    """A region's waiting room in automatic mode with the default rates, unless it has one
    (an operator's settings stay). True when it was made."""
    _room, created = WaitingRoom.objects.get_or_create(region_id=region_id)
    return created


def room_settings_changed(region_id: int) -> None:
    """After an operator's change: every process sees it within SETTINGS_SECONDS; this one
    at once."""
    cache.delete(_cache_key(region_id))
