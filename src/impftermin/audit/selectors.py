"""Reading the audit log (supervisors): entries filtered by who, what, which and when."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from impftermin.audit.models import AuditEntry, AuditSubject


def _day_start(day: dt.date) -> dt.datetime:
    """Local midnight at the start of `day`, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_entries(
    *,
    user: Any = None,
    action: str | None = None,
    what: str | None = None,
    which: int | str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """Entries, newest first. `user` is a user or its pk; `date_from` and `date_to` are
    local calendar days, both included."""
    entries = AuditEntry.objects.all()
    if user is not None:
        entries = entries.filter(user=user)
    if action is not None:
        entries = entries.filter(action=action)
    if what is not None:
        entries = entries.filter(what=what)
    if which is not None:
        entries = entries.filter(which=str(which))
    if date_from is not None:
        entries = entries.filter(at__gte=_day_start(date_from))
    if date_to is not None:
        entries = entries.filter(at__lt=_day_start(date_to + dt.timedelta(days=1)))
    return entries.order_by("-at", "-id")


def audit_counts_by_hour(
    *,
    actions: list[str],
    details: list[str],
    date_from: dt.date,
    date_to: dt.date,
    user: Any = None,
) -> list[dict]:
    """How many entries of these actions and details each staff member wrote per hour:
    dicts with username, hour (aware; shown in local time), detail and count, ordered by
    username and hour. Hours are cut in UTC, so the hour repeated when the clocks go back
    stays two hours. One grouped query; the (at) index bounds it to the days asked for."""
    entries = audit_entries(user=user, date_from=date_from, date_to=date_to).filter(
        action__in=actions, detail__in=details
    )
    return list(
        entries.order_by()
        .annotate(hour=TruncHour("at", tzinfo=dt.UTC))
        .values("username", "hour", "detail")
        .annotate(count=Count("id"))
        .order_by("username", "hour", "detail")
    )


def staff_access_export(*, what: str, which: int | str, pair_ids: list[int]) -> list[dict]:
    """When staff looked up, viewed or changed this record or the person's appointment
    pairs (a centre's desk and day list, an agent's change), and why, oldest first: for the
    person's copy of their data (Art. 15). Staff names are not given, the reason is."""
    entries = AuditEntry.objects.filter(
        Q(what=what, which=str(which))
        | Q(what=AuditSubject.APPOINTMENT_PAIR, which__in=[str(pk) for pk in pair_ids])
    )
    return [
        {
            "at": timezone.localtime(entry.at).isoformat(),
            "action": entry.get_action_display(),
            "what": entry.get_what_display(),
            "why": entry.why,
        }
        for entry in entries.order_by("at", "id")
    ]
