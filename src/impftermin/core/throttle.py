"""Attempt throttling for guessable secrets (log-in passwords, reset requests, a partner's
date of birth): every attempt is counted against its keys first, and once a key has had
`attempts` within its window, further attempts are refused until the window ends; a
success gives the attempt back. Counting before checking means parallel requests cannot
slip past the limit. Counters live in the database, so they hold across processes and
whatever happens to the cache, and a key is a keyed hash, so the table holds no
identifier in clear."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import keyed_hash
from impftermin.core.models import AttemptCounter


@dataclass(frozen=True)
class Limit:
    purpose: str  # e.g. "login-vorgangskennung"
    attempts: int
    window: dt.timedelta


def _key(limit: Limit, value: str) -> str:
    return keyed_hash(f"throttle:{limit.purpose}", value)


def attempt_take(checks: list[tuple[Limit, str]]) -> None:
    """Count one attempt against each key (a key whose window has ended starts anew) and
    raise ServiceError `throttled` when any key is over its limit. Its own transaction:
    the attempt counts even when the caller's work rolls back. The row lock of each
    counter orders parallel attempts, so each sees the count including its own."""
    now = timezone.now()
    waits = []
    with transaction.atomic():
        for limit, value in sorted(checks, key=lambda check: _key(*check)):
            key = _key(limit, value)
            _count_one(key, limit, now)
            row = AttemptCounter.objects.get(key=key)
            if row.count > limit.attempts:
                waits.append((row.window_ends - now).total_seconds())
    if waits:
        raise throttled(math.ceil(max(waits)))


def _count_one(key: str, limit: Limit, now: dt.datetime) -> None:
    counted = AttemptCounter.objects.filter(key=key, window_ends__gt=now).update(
        count=F("count") + 1
    )
    if counted:
        return
    try:  # the key's first attempt: a parallel first attempt makes this insert fail
        with transaction.atomic():
            AttemptCounter.objects.create(key=key, count=1, window_ends=now + limit.window)
        return
    except IntegrityError:
        pass
    # The row exists: a parallel attempt made it, or its window ended (then it starts anew).
    AttemptCounter.objects.filter(key=key, window_ends__lte=now).update(
        count=0, window_ends=now + limit.window
    )
    AttemptCounter.objects.filter(key=key).update(count=F("count") + 1)


def attempts_count(limit: Limit, value: str) -> int:
    """How many attempts the key's current window holds."""
    row = AttemptCounter.objects.filter(
        key=_key(limit, value), window_ends__gt=timezone.now()
    ).values_list("count", flat=True)
    return next(iter(row), 0)


def attempt_give_back(limit: Limit, value: str) -> None:
    """A success: its attempt does not count against the key."""
    AttemptCounter.objects.filter(key=_key(limit, value), count__gt=0).update(count=F("count") - 1)


def attempts_clear(limit: Limit, value: str) -> None:
    """After a success: the key's earlier failures no longer count."""
    AttemptCounter.objects.filter(key=_key(limit, value)).delete()


def attempts_expired_delete() -> int:
    """Counters of ended windows tell nothing any more (the daily clean-up)."""
    deleted, _count = AttemptCounter.objects.filter(window_ends__lte=timezone.now()).delete()
    return deleted


def throttled(seconds: int) -> ServiceError:
    return ServiceError(
        "throttled",
        _(
            "Zu viele Versuche. Bitte warten Sie %(minutes)s Minuten und versuchen Sie es dann erneut."
        ),
        minutes=max(1, (seconds + 59) // 60),
        retry_after=seconds,
    )


def client_key(request) -> str:
    """Who is trying, for per-client limits: the client's address. Behind
    TRUSTED_PROXIES reverse proxies, it is that many entries from the right of
    X-Forwarded-For (what our own proxies appended; anything further left is the client's
    to invent). IPv6 clients count by their /64 network, which one household holds."""
    address = str(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        forwarded = [
            part.strip()
            for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def window_count(name: str, window_seconds: int, now: float) -> int | None:
    """Count one event under `name` in its fixed window of `window_seconds` containing
    `now`, in the cache (Redis in production; shared by all processes; no database
    write); returns the window's count so far, None when the cache is down (its errors
    are ignored: callers degrade)."""
    start = int(now // window_seconds * window_seconds)
    key = f"window:{name}:{window_seconds}:{start}"
    if cache.add(key, 1, timeout=window_seconds + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: a new window, counted anew
        cache.add(key, 1, timeout=window_seconds + 1)
        return 1


def rate_take(limit: Limit, value: str) -> None:
    """A request-rate limit for cheap, frequent requests (API reads, partners' calls):
    counted with window_count, so that a request costs no database write. A fixed window
    per key; ServiceError `throttled` with the seconds left when the key is over its
    limit. Guessable secrets use attempt_take, whose counts survive whatever happens to
    the cache."""
    window = max(1, int(limit.window.total_seconds()))
    now = timezone.now().timestamp()
    count = window_count(_key(limit, value), window, now)
    # None: the cache (Redis) is down: the service degrades, unlimited.
    if count is not None and count > limit.attempts:
        raise throttled(max(1, math.ceil((now // window + 1) * window - now)))
