"""Periodic jobs: a small scheduler that enqueues daily tasks once per day.

django-tasks runs tasks but does not schedule them; `manage.py run_scheduler` (started by
`make run`, one per deployment or more — they cannot double-enqueue) calls
`scheduled_jobs_enqueue` every half minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from impftermin.core.models import ScheduledRun


@dataclass(frozen=True)
class DailyJob:
    name: str
    task_path: str
    at: dt.time  # local time (Europe/Berlin) from which the day's run is due


SCHEDULE = [
    # Slots exist well beyond the release window, for second doses (before the release).
    DailyJob("top_up_slots", "impftermin.booking.tasks.top_up_slots", dt.time(4, 30)),
    # R12: the rolling release opens the next day of slots every morning.
    DailyJob("release_slots", "impftermin.booking.tasks.release_slots", dt.time(5, 0)),
]


def scheduled_jobs_enqueue(
    *, now: dt.datetime | None = None, schedule: list[DailyJob] | None = None
) -> list[str]:
    """Enqueue every daily job that is due today and not enqueued yet; returns their names.
    A job whose time has passed when the scheduler starts runs at once (catch-up)."""
    local = timezone.localtime(now or timezone.now())
    enqueued = []
    for job in SCHEDULE if schedule is None else schedule:
        if local.time() < job.at:
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, period=local.date().isoformat())
                # Enqueued in the same transaction: the run is recorded if and only if the
                # task is (database task backend).
                result = import_string(job.task_path).enqueue()
                run.task_id = str(result.id)
                run.save(update_fields=["task_id"])
        except IntegrityError:
            continue  # another scheduler got there first
        enqueued.append(job.name)
    return enqueued
