"""Shared by the codes tests."""

from impftermin.notifications.models import OutboundMessage


def pin_from_sms() -> str:
    """The PIN as the person reads it from the SMS (the newest in the outbox)."""
    text = OutboundMessage.objects.filter(kind="sms_pin").latest("id").body
    return next(
        word for word in text.replace(".", " ").split() if word.isdigit() and len(word) == 6
    )
