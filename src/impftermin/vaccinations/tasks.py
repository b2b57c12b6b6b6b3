"""The end of the day at the centres (issue 7): missed appointments become no-shows, and a
missed first appointment gives up the rest of its pair after the region's grace period."""

from __future__ import annotations

from django.db import DatabaseError
from django.utils import timezone
from django_tasks import task

from impftermin.booking.selectors import no_show_pairs_due
from impftermin.booking.services import appointments_no_show_mark
from impftermin.core.errors import ServiceError
from impftermin.regions.models import Region
from impftermin.vaccinations.services import no_show_release


@task()
def end_of_day() -> int:
    """Idempotent and safe to run again (a missed run catches up): returns the pairs given
    up."""
    today = timezone.localdate()
    appointments_no_show_mark(before=today)
    released = 0
    for region in Region.objects.all():
        due = no_show_pairs_due(
            region_id=region.pk, grace_days=region.no_show_grace_days, today=today
        )
        for pair_id, holder in due:
            try:
                no_show_release(pair_id=pair_id, holder=holder)
            except (ServiceError, DatabaseError):
                # Cancelled meanwhile, or busy (a lock timeout): the next run sees it again.
                continue
            released += 1
    return released
