"""Read-only queries about messages."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from impftermin.notifications.models import OutboundMessage

# Texts with a link that still opens something (a new password, an offered appointment):
# a copy of one's data repeats when and what, not the link itself.
ONE_TIME_LINK_KINDS = frozenset({"password_reset", "standby_offer"})


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
            "text": _("(enthält einen Link zum einmaligen Gebrauch; hier nicht wiederholt)")
            if message.kind in ONE_TIME_LINK_KINDS
            else message.body,
            "attachment": message.attachment_name or None,
            "status": message.get_status_display(),
            "created_at": timezone.localtime(message.created_at).isoformat(),
            "sent_at": timezone.localtime(message.sent_at).isoformat() if message.sent_at else None,
        }
        for message in messages
    ]
