"""Read-only queries about the message outbox."""

from __future__ import annotations

from django.utils import timezone

from impftermin.notifications.models import OutboundMessage


def messages_to_export(recipients: list[str]) -> list[dict]:
    """The messages kept for these addresses and numbers (sent ones for
    RETENTION_MESSAGE_DAYS), oldest first: for a person's copy of their data (Art. 15)."""
    found = OutboundMessage.objects.filter(recipient__in=[r for r in recipients if r]).order_by(
        "created_at"
    )
    return [
        {
            "channel": message.get_channel_display(),
            "to": message.recipient,
            "subject": message.subject,
            "text": message.body,
            "written_at": timezone.localtime(message.created_at).isoformat(),
            "sent_at": timezone.localtime(message.sent_at).isoformat() if message.sent_at else None,
            "status": message.get_status_display(),
        }
        for message in found
    ]
