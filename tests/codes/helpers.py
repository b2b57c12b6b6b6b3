"""Shared by the codes tests."""

import re

from impftermin.codes.services import email_link_confirm, pin_request, pin_verify
from impftermin.notifications.models import OutboundMessage


def pin_from_sms() -> str:
    """The PIN as the person reads it from the SMS (the newest in the outbox)."""
    text = OutboundMessage.objects.filter(kind="sms_pin").latest("id").body
    return next(
        word for word in text.replace(".", " ").split() if word.isdigit() and len(word) == 6
    )


def codes_for(world, mobile: str) -> list[str]:
    """Go through R2 as a person would: PIN by SMS, link by e-mail, codes by e-mail."""
    sent = pin_request(region_id=world.region.pk, mobile=mobile, email="family@example.org")
    pin_verify(token=sent.token, pin=pin_from_sms())
    body = OutboundMessage.objects.filter(kind="email_verification").latest("id").body
    email_link_confirm(token=re.search(r"/email-bestaetigen/([^/\s]+)/", body).group(1))
    codes_mail = OutboundMessage.objects.filter(kind="booking_codes").latest("id").body
    return re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", codes_mail)
