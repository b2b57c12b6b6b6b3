"""Background tasks of the message outbox: thin wrappers around services."""

from django_tasks import task


@task()
def deliver_message(message_id: int) -> str:
    from impftermin.notifications.services import message_deliver

    return message_deliver(message_id=message_id)


@task()
def deliver_messages(message_ids: list[int]) -> list[str]:
    """Many messages queued together; each is claimed, sent and retried on its own."""
    from impftermin.notifications.services import message_deliver

    return [message_deliver(message_id=pk) for pk in message_ids]


@task()
def resume_messages() -> int:
    """Every few minutes (core.scheduling): deliveries whose task was lost, again."""
    from impftermin.notifications.services import messages_resume

    return messages_resume()
