"""Background tasks of the booking engine: thin wrappers around services."""

from django_tasks import task

from impftermin.booking.services import slots_release


@task()
def release_slots() -> int:
    """The daily rolling release (R12) for every region."""
    return slots_release()
