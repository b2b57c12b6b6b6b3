"""Background tasks of the core: thin wrappers around its functions."""

from django_tasks import task


@task()
def delete_expired_attempts() -> int:
    """The daily clean-up of attempt counters whose window has ended."""
    from impftermin.core.throttle import attempts_expired_delete

    return attempts_expired_delete()
