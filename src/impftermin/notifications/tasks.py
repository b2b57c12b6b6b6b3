"""Background tasks of the message outbox: thin wrappers around services."""

from django_tasks import task


@task()
def deliver_message(message_id: int) -> str:
    from impftermin.notifications.services import message_deliver

    return message_deliver(message_id=message_id)
