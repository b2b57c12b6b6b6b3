"""Background tasks of the booking engine: thin wrappers around services."""

from django_tasks import task

from impftermin.booking.services import slots_release, slots_top_up


@task()
def release_slots() -> int:
    """The daily rolling release (R12) for every region."""
    return slots_release()


@task()
def top_up_slots() -> int:
    """Daily: generate slots up to the planning horizon for every active centre."""
    return slots_top_up()
