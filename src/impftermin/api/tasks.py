"""Background tasks of the partner API: thin wrappers around services."""

from django_tasks import task


@task()
def deliver_webhook(delivery_id: int) -> str:
    from impftermin.api.services import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id)


@task()
def delete_expired_replies() -> int:
    """The daily clean-up of replies kept for idempotency keys."""
    from impftermin.api.services import idempotent_replies_expired_delete

    return idempotent_replies_expired_delete()
