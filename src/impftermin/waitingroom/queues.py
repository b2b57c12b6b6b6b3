"""Where a waiting room keeps its queue: Redis in production (REDIS_URL set), the database
otherwise. Both keep three numbers per region — tickets issued (`tail`), and the
admission line: `head_base` admitted at `base_time`, rising at the admission rate since —
so that a poll is a constant amount of work whatever the queue's length, and no visitor
is ever scanned. A ticket moves the line's base to the present, clamped to the tail, so
an empty room does not bank admissions for a later crowd. Both survive a restart of the
app processes; the database also a restart of Redis."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from impftermin.waitingroom.models import WaitingRoom


@dataclass(frozen=True)
class Line:
    tail: int  # tickets issued so far (the last ticket's number)
    admitted: int  # every ticket up to this number may enter


def _admitted(tail: int, head_base: float, base_time: float, rate: int, now: float) -> int:
    return min(tail, math.floor(head_base + rate * max(0.0, now - base_time)))


class DatabaseQueue:
    def take_ticket(self, room_id: int, rate: int, now: float) -> int:
        with transaction.atomic():
            room = WaitingRoom.objects.select_for_update().get(pk=room_id)
            room.head_base = min(
                float(room.tail), room.head_base + rate * max(0.0, now - room.base_time)
            )
            room.base_time = now
            room.tail += 1
            room.save(update_fields=["head_base", "base_time", "tail"])
            return room.tail

    def line(self, room_id: int, rate: int, now: float) -> Line:
        tail, head_base, base_time = WaitingRoom.objects.values_list(
            "tail", "head_base", "base_time"
        ).get(pk=room_id)
        return Line(tail, _admitted(tail, head_base, base_time, rate, now))


# One round trip, atomic in Redis: move the base to now (clamped), then count the ticket.
_TAKE = """
local tail = tonumber(redis.call('GET', KEYS[1]) or '0')
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
local base = tonumber(redis.call('GET', KEYS[3]) or ARGV[1])
local now = tonumber(ARGV[1])
local moved = head + tonumber(ARGV[2]) * math.max(0, now - base)
if moved > tail then moved = tail end
redis.call('SET', KEYS[2], string.format('%.6f', moved))
redis.call('SET', KEYS[3], ARGV[1])
return redis.call('INCR', KEYS[1])
"""


class RedisQueue:
    def __init__(self):
        from django_redis import get_redis_connection

        self.redis = get_redis_connection("default")
        self.take = self.redis.register_script(_TAKE)

    @staticmethod
    def _keys(room_id: int) -> list[str]:
        return [f"waiting-room:{room_id}:{name}" for name in ("tail", "head", "base")]

    def take_ticket(self, room_id: int, rate: int, now: float) -> int:
        return int(self.take(keys=self._keys(room_id), args=[repr(now), rate]))

    def line(self, room_id: int, rate: int, now: float) -> Line:
        tail, head, base = self.redis.mget(self._keys(room_id))
        tail = int(tail or 0)
        return Line(tail, _admitted(tail, float(head or 0), float(base or now), rate, now))


def queue() -> DatabaseQueue | RedisQueue:
    """Redis when the cache is Redis (production), else the database."""
    if settings.WAITING_ROOM_BACKEND == "redis":
        return RedisQueue()
    return DatabaseQueue()
