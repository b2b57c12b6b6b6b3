"""R12: the daily rolling release is enqueued once a day and run by the worker."""

import datetime as dt

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from impftermin.booking.models import Slot
from impftermin.core.models import ScheduledRun
from impftermin.core.scheduling import SCHEDULE, DailyJob, IntervalJob, scheduled_jobs_enqueue
from tests.factories import at, make_delivery, make_slot

# The release and what it needs (other daily jobs have their own times and tests).
DAILY = [
    job
    for job in SCHEDULE
    if isinstance(job, DailyJob) and job.name in {"top_up_slots", "release_slots"}
]


def local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


@pytest.mark.django_db
def test_R12_release_is_enqueued_once_per_day_however_often_the_scheduler_looks():
    today = timezone.localdate()
    assert (
        scheduled_jobs_enqueue(schedule=DAILY, now=local(today, 4)) == []
    )  # nothing due before 04:30
    assert scheduled_jobs_enqueue(schedule=DAILY, now=local(today, 5)) == [
        "top_up_slots",
        "release_slots",
    ]
    assert scheduled_jobs_enqueue(schedule=DAILY, now=local(today, 7)) == []
    assert ScheduledRun.objects.filter(job="release_slots").count() == 1
    assert DBTaskResult.objects.count() == 2
    tomorrow = today + dt.timedelta(days=1)
    assert scheduled_jobs_enqueue(schedule=DAILY, now=local(tomorrow, 6)) == [
        "top_up_slots",
        "release_slots",
    ]
    assert DBTaskResult.objects.count() == 4


@pytest.mark.django_db
def test_R8_standby_offers_are_enqueued_once_per_ten_minutes():
    every = [job for job in SCHEDULE if job.name == "standby_offers"]
    assert isinstance(every[0], IntervalJob)
    start = local(timezone.localdate(), 9)
    assert scheduled_jobs_enqueue(schedule=every, now=start) == ["standby_offers"]
    assert scheduled_jobs_enqueue(schedule=every, now=start + dt.timedelta(minutes=9)) == []
    later = start + dt.timedelta(minutes=10)
    assert scheduled_jobs_enqueue(schedule=every, now=later) == ["standby_offers"]
    assert ScheduledRun.objects.filter(job="standby_offers").count() == 2


@pytest.mark.django_db(transaction=True)
def test_R12_worker_runs_the_enqueued_release(world):
    world.region.release_days_ahead = 7
    world.region.save()
    make_delivery(world.region, world.biontech, 10_000_000)  # the cap (R9) never binds here
    slot = make_slot(world.centre, world.biontech, at(3), released=False)
    late = make_slot(world.centre, world.biontech, at(20), released=False)
    scheduled_jobs_enqueue(now=local(timezone.localdate(), 12))
    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    slot.refresh_from_db()
    late.refresh_from_db()
    assert slot.released and not late.released
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    # the top-up ran first: both centres have slots through the planning horizon, and the
    # release opened exactly the window of 7 days ahead
    horizon = timezone.localdate() + dt.timedelta(days=settings.SLOT_PLANNING_DAYS)
    assert Slot.objects.filter(start__date=horizon).exists()
    released_days = {
        timezone.localdate(s)
        for s in Slot.objects.filter(released=True).values_list("start", flat=True)
    }
    assert max(released_days) == timezone.localdate() + dt.timedelta(days=7)


def test_end_of_day_runs_after_midnight_before_the_release():
    times = {job.name: job.at for job in SCHEDULE if isinstance(job, DailyJob)}
    assert times["end_of_day"] < times["release_slots"]
