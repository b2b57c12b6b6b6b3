"""Periodic jobs: a small scheduler that enqueues daily tasks once per day, and interval
tasks once per interval.

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

    def period(self, local: dt.datetime) -> str | None:
        """The run's key, or None while today's run is not yet due."""
        return None if local.time() < self.at else local.date().isoformat()


@dataclass(frozen=True)
class IntervalJob:
    name: str
    task_path: str
    minutes: int  # once per this many minutes, counted from midnight

    def period(self, local: dt.datetime) -> str:
        minute = (local.hour * 60 + local.minute) // self.minutes * self.minutes
        return f"{local.date().isoformat()}T{minute // 60:02d}:{minute % 60:02d}"


SCHEDULE = [
    # Attempt counters of ended windows (log-in throttling) are dropped.
    DailyJob("attempt_counters", "impftermin.core.tasks.delete_expired_attempts", dt.time(23, 30)),
    # Issue 8: the replies kept for partners' idempotency keys (one day).
    DailyJob("idempotent_replies", "impftermin.api.tasks.delete_expired_replies", dt.time(23, 40)),
    # Issue 10: personal data past its retention period is erased.
    DailyJob("expire_personal_data", "impftermin.core.tasks.expire_personal_data", dt.time(3, 0)),
    # Slots exist well beyond the release window, for second doses (before the release).
    DailyJob("top_up_slots", "impftermin.booking.tasks.top_up_slots", dt.time(4, 30)),
    # Issue 7: yesterday's missed appointments are no-shows; a missed first appointment
    # gives up its second after the region's grace period (before the release).
    DailyJob("end_of_day", "impftermin.vaccinations.tasks.end_of_day", dt.time(0, 30)),
    # R12: the rolling release opens the next day of slots every morning.
    DailyJob("release_slots", "impftermin.booking.tasks.release_slots", dt.time(5, 0)),
    # R17: the letters to people without e-mail, one PDF a day, ready when the print room
    # starts work.
    DailyJob("print_letters", "impftermin.registrations.tasks.print_letters", dt.time(7, 30)),
    # R8 (beyond the seeds): released or freed slots go to the standby list, in order;
    # unanswered offers expire and pass on.
    IntervalJob("standby_offers", "impftermin.codes.tasks.make_standby_offers", minutes=10),
    # Issue 10: a message whose worker died while sending it (or whose task was lost) is
    # sent when its claim has run out.
    IntervalJob("resume_messages", "impftermin.notifications.tasks.resume_messages", minutes=5),
    # R16: waiting registrations get pairs from the released slots.
    IntervalJob(
        "assign_registrations", "impftermin.registrations.tasks.assign_registrations", minutes=15
    ),
]


def scheduled_jobs_enqueue(
    *, now: dt.datetime | None = None, schedule: list[DailyJob | IntervalJob] | None = None
) -> list[str]:
    """Enqueue every daily job that is due today and not enqueued yet; returns their names.
    A job whose time has passed when the scheduler starts runs at once (catch-up)."""
    local = timezone.localtime(now or timezone.now())
    enqueued = []
    for job in SCHEDULE if schedule is None else schedule:
        period = job.period(local)
        if period is None:
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, period=period)
                # Enqueued in the same transaction: the run is recorded if and only if the
                # task is (database task backend).
                result = import_string(job.task_path).enqueue()
                run.task_id = str(result.id)
                run.save(update_fields=["task_id"])
        except IntegrityError:
            continue  # another scheduler got there first
        enqueued.append(job.name)
    return enqueued
