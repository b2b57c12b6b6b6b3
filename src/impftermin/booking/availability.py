"""Cached availability (issue 9): the free times that every channel's times pages and the
APIs show, per district and vaccine, read from the cache (Redis in production, shared by
all processes) instead of the database on each request.

An answer is kept for AVAILABILITY_CACHE_SECONDS under a generation number per district
and vaccine (and one for everything). The booking engine moves the generation on once its
transaction has committed whenever seats come free (cancellations, rebooks) or a slot
becomes full, and the slot services do so when slots are released, added or closed: the
next request then asks the database again. So a list never shows a time that the cache
has been told is full; a booking that leaves seats keeps the cached answer, which is what
makes a release storm's thousands of identical reads cheap. After a renewal one request
asks the database while the others wait up to 0.2 s for its answer. Should the cache be
down, every request asks the database (the service degrades, it does not fail).

With the embedded local-memory cache each process has its own: a booking made by another
process (the worker's assignment) is seen once the answer expires."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

_EVERYTHING = "availability-gen:all"
COMPUTING_SECONDS = 2
WAITS, WAIT_SECONDS = 10, 0.02  # at most 0.2 s for another request's answer


def _generation_key(district_id: int, vaccine_id: int) -> str:
    return f"availability-gen:{district_id}:{vaccine_id}"


def answer_key(kind: str, *, district_id: int, vaccine_id: int, params: tuple) -> str:
    """Where the answer for `kind` and `params` is kept under the current generations."""
    own = _generation_key(district_id, vaccine_id)
    generations = cache.get_many([_EVERYTHING, own])
    return "availability:{}:{}:{}:{}:{}:{}".format(
        kind,
        district_id,
        vaccine_id,
        generations.get(_EVERYTHING, 0),
        generations.get(own, 0),
        ":".join(str(p) for p in params),
    )


def cached_answer(
    kind: str, *, district_id: int, vaccine_id: int, params: tuple, compute: Callable[[], Any]
) -> Any:
    """The answer for `kind` and `params` from the cache, else computed and kept."""
    key = answer_key(kind, district_id=district_id, vaccine_id=vaccine_id, params=params)
    answer = cache.get(key)
    if answer is not None:
        return answer
    # Renewed while many read (a storm): one request asks the database, the others wait
    # for its answer a moment instead of all asking at once.
    computing = cache.add(f"{key}:computing", 1, timeout=COMPUTING_SECONDS)
    if computing is False:
        for _i in range(WAITS):
            time.sleep(WAIT_SECONDS)
            answer = cache.get(key)
            if answer is not None:
                return answer
    answer = compute()  # ours to compute, the cache is down, or the other one is slow
    cache.set(key, answer, settings.AVAILABILITY_CACHE_SECONDS)
    return answer


def _move_on(key: str) -> None:
    if not cache.add(key, 1, timeout=None):
        try:
            cache.incr(key)
        except ValueError:  # gone between add and incr
            cache.add(key, 1, timeout=None)


def availability_changed(pairs: set[tuple[int, int]]) -> None:
    """After the current transaction commits: the free times of these (district, vaccine)
    pairs have changed; answers cached before are not used again."""
    if pairs:
        transaction.on_commit(lambda: [_move_on(_generation_key(*pair)) for pair in sorted(pairs)])


def availability_changed_everywhere() -> None:
    """After the current transaction commits: slots were released, added or closed."""
    transaction.on_commit(lambda: _move_on(_EVERYTHING))
