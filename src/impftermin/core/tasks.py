"""Background tasks of the core: thin wrappers around its functions."""

from django_tasks import task


@task()
def delete_expired_attempts() -> int:
    """The daily clean-up of attempt counters whose window has ended."""
    from impftermin.core.throttle import attempts_expired_delete

    return attempts_expired_delete()


@task()
def expire_personal_data() -> dict[str, int]:
    """Daily (core.scheduling): personal data past its retention period is erased, each
    kind by the app that owns it (docs/security.md, "Retention")."""
    from impftermin.codes.services import code_sets_contact_expire, pin_requests_expire
    from impftermin.notifications.services import messages_expire
    from impftermin.registrations.services import registrations_expire

    return {
        "code_sets": code_sets_contact_expire(),
        "pin_requests": pin_requests_expire(),
        "registrations": registrations_expire(),
        "messages": messages_expire(),
    }
