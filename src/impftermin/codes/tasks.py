"""Background tasks of the codes flow: thin wrappers around services."""

from django_tasks import task


@task()
def make_standby_offers() -> int:
    """Offer released or freed appointments to the standby list (R8)."""
    from impftermin.codes.standby import standby_offers_make

    return standby_offers_make()
