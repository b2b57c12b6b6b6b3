"""Read-only queries about messages."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from impftermin.notifications.models import OutboundMessage

# Texts a copy of one's data repeats in full: they open nothing that the person's code or
# log-in does not open anyway. Any other kind (a new password's link, an offered
# appointment's link, a kind added later) is named with its time, its text not repeated.
TEXT_SHOWN_KINDS = frozenset(
    {
        "booking_confirmation",
        "booking_rebooked",
        "booking_cancelled",
        "booking_codes",
        "standby_joined",
        "registration_deleted",
    }
)


def holder_messages_export(*, holder: str) -> list[dict]:
    """The messages sent (or still to be sent) to the person behind `holder`, oldest first:
    for their copy of their data (GDPR Art. 15). Kept 30 days after sending (retention)."""
    if not holder:
        return []
    messages = OutboundMessage.objects.filter(holder=holder).order_by("created_at", "pk")
    return [
        {
            "channel": message.get_channel_display(),
            "recipient": message.recipient,
            "subject": message.subject,
            "text": message.body
            if message.kind in TEXT_SHOWN_KINDS
            else _("(hier nicht wiederholt: der Text kann einen noch gültigen Link enthalten)"),
            "attachment": message.attachment_name or None,
            "status": message.get_status_display(),
            "created_at": timezone.localtime(message.created_at).isoformat(),
            "sent_at": timezone.localtime(message.sent_at).isoformat() if message.sent_at else None,
        }
        for message in messages
    ]
