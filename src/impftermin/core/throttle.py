"""Failed-attempt throttling for guessable secrets (log-in passwords, reset requests):
after `limit` failures of a key within its window, the key is refused until the window
ends. Counters live in the database, so they hold across processes and whatever happens
to the cache, and the key is a keyed hash, so the table holds no identifier in clear."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from impftermin.core.identifiers import keyed_hash
from impftermin.core.models import AttemptCounter


@dataclass(frozen=True)
class Limit:
    purpose: str  # e.g. "login-vorgangskennung"
    attempts: int
    window: dt.timedelta


def _key(limit: Limit, value: str) -> str:
    return keyed_hash(f"throttle:{limit.purpose}", value)


def attempts_blocked(checks: list[tuple[Limit, str]]) -> int:
    """Seconds until every key of `checks` may be tried again; 0 when none is blocked."""
    now = timezone.now()
    keys = {_key(limit, value): limit for limit, value in checks}
    waits = [
        (row.window_ends - now).total_seconds()
        for row in AttemptCounter.objects.filter(key__in=keys, window_ends__gt=now)
        if row.count >= keys[row.key].attempts
    ]
    return math.ceil(max(waits, default=0))


def attempt_failed(checks: list[tuple[Limit, str]]) -> None:
    """Count one failure against each key; a key whose window has ended starts anew.
    Its own transaction: the failure counts even when the caller's work rolls back."""
    now = timezone.now()
    with transaction.atomic():
        for limit, value in checks:
            key = _key(limit, value)
            counted = AttemptCounter.objects.filter(key=key, window_ends__gt=now).update(
                count=F("count") + 1
            )
            if not counted:
                AttemptCounter.objects.update_or_create(
                    key=key, defaults={"count": 1, "window_ends": now + limit.window}
                )


def attempts_clear(limit: Limit, value: str) -> None:
    """After a success: the key's earlier failures no longer count."""
    AttemptCounter.objects.filter(key=_key(limit, value)).delete()


def attempts_expired_delete() -> int:
    """Counters of ended windows tell nothing any more."""
    deleted, _ = AttemptCounter.objects.filter(window_ends__lte=timezone.now()).delete()
    return deleted


def client_key(request) -> str:
    """Who is trying, for per-client limits: the address the request came from (the
    reverse proxy in front sets REMOTE_ADDR; we do not trust forwarded headers)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")
