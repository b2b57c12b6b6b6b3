"""Background tasks of the assignment pool: thin wrappers around services."""

from django_tasks import task


@task()
def assign_registrations() -> int:
    """The assignment engine's run over every region's pool (R16)."""
    from impftermin.registrations.services import registrations_assign

    return registrations_assign()
