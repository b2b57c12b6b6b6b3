"""The message outbox: every e-mail and SMS goes through here.

`message_send_later` runs inside the transaction of the change that causes the message:
the message row and its delivery task are written with that change, or not at all. The
worker runs `message_deliver`, which claims the message with a conditional UPDATE (so a
message is never sent by two workers), sends it, and on a temporary failure tries again
later with exponential back-off, until MAX_ATTEMPTS.

A claim is a lease of SENDING_LEASE: should the worker die while sending (killed, the
machine gone), the message can be claimed again once the lease has run out, and
`messages_resume` (every few minutes) enqueues its delivery again. A message that the
server had accepted when the worker died is sent a second time then (at least once: SMTP
has no way to ask); one it had not accepted, once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError
from impftermin.core.validation import as_id
from impftermin.notifications import transports
from impftermin.notifications.models import MessageChannel, MessageStatus, OutboundMessage
from impftermin.notifications.tasks import deliver_message, deliver_messages

MAX_ATTEMPTS = 12
SENDING_LEASE = dt.timedelta(minutes=10)  # longer than any SMTP or gateway timeout
STALLED_AFTER = dt.timedelta(minutes=2)  # a due message's own task should have run by then
RESUME_BATCH = 1000
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_RETRY = dt.timedelta(hours=1)
UNKNOWN_MESSAGE = _("Diese Nachricht gibt es nicht.")


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, … up to an hour between tries."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


# Under every e-mail (R26): the 2021 portals warned of fraudsters asking for money.
FREE_OF_CHARGE = _(
    "Die Impfung ist kostenlos. Niemand von uns wird Sie um Geld bitten oder unangemeldet bei Ihnen zu Hause vorbeikommen."
)
NO_REPLY = _("Diese E-Mail wurde automatisch erstellt; bitte antworten Sie nicht darauf.")


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    content: str


@dataclass(frozen=True)
class Message:
    """A message to queue (see messages_send_later)."""

    channel: str
    kind: str
    recipient: str
    body: str
    subject: str = ""
    language: str | None = None
    attachment: Attachment | None = None
    holder: str = ""  # whose message (see OutboundMessage.holder)


def message_send_later(**fields) -> OutboundMessage:
    """Queue a message; call it inside the transaction of the change that causes it.
    E-mails get the common footer in the recipient's language."""
    return messages_send_later([Message(**fields)])[0]


def messages_send_later(messages: list[Message]) -> list[OutboundMessage]:
    """Queue many messages at once (e.g. an assignment run's), with one delivery task for
    all of them; in the transaction of the change that causes them."""
    rows = [_outbound(message) for message in messages]
    with transaction.atomic():
        created = OutboundMessage.objects.bulk_create(rows)
        if len(created) == 1:
            deliver_message.enqueue(created[0].pk)
        elif created:
            deliver_messages.enqueue([message.pk for message in created])
    return created


def _outbound(message: Message) -> OutboundMessage:
    channel, recipient, body = message.channel, message.recipient, message.body
    attachment = message.attachment
    if channel not in MessageChannel.values:
        raise ServiceError("channel_invalid", _("Unbekannter Nachrichtenweg."), field="channel")
    if not isinstance(recipient, str) or not recipient.strip() or len(recipient) > 254:
        raise ServiceError(
            "recipient_invalid", _("Der Empfänger fehlt oder ist ungültig."), field="recipient"
        )
    if not isinstance(body, str) or not body.strip():
        raise ServiceError("body_missing", _("Die Nachricht hat keinen Text."), field="body")
    if channel == MessageChannel.EMAIL:
        with translation.override(message.language or settings.LANGUAGE_CODE):
            body = f"{body.rstrip()}\n\n-- \n{FREE_OF_CHARGE}\n{NO_REPLY}\n"
    return OutboundMessage(
        channel=channel,
        kind=message.kind,
        recipient=recipient.strip(),
        holder=message.holder,
        subject=message.subject[:200],
        body=body,
        attachment_name=attachment.name if attachment else "",
        attachment_type=attachment.content_type if attachment else "",
        attachment=attachment.content if attachment else "",
    )


def message_deliver(*, message_id: int) -> str:
    """Send one message now, if it is due and nobody else is sending it. Returns what
    happened: sent, retry, failed or skipped."""
    now = timezone.now()
    due = Q(status=MessageStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=MessageStatus.SENDING, next_attempt_at__lte=now)  # lease ran out
    claimed = OutboundMessage.objects.filter(due | abandoned, pk=message_id).update(
        status=MessageStatus.SENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + SENDING_LEASE,
    )
    if not claimed:
        return "skipped"
    message = OutboundMessage.objects.get(pk=message_id)
    try:
        if message.channel == MessageChannel.EMAIL:
            transports.send_email(
                to=message.recipient,
                subject=message.subject,
                body=message.body,
                attachment=(message.attachment_name, message.attachment, message.attachment_type)
                if message.attachment_name
                else None,
            )
        else:
            transports.send_sms(to=message.recipient, text=message.body)
    except transports.PermanentFailure as error:
        _finish(message, MessageStatus.FAILED, str(error))
        return "failed"
    except Exception as error:
        if message.attempts >= MAX_ATTEMPTS:
            _finish(message, MessageStatus.FAILED, f"{type(error).__name__}: {error}")
            return "failed"
        _retry_later(
            message, now + retry_delay(message.attempts), f"{type(error).__name__}: {error}"
        )
        return "retry"
    _settle(message, status=MessageStatus.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def _settle(message: OutboundMessage, **fields) -> bool:
    """The attempt's outcome, written only while this attempt still holds the claim (a
    worker that outlived its lease changes nothing another one has taken over)."""
    fields.setdefault("next_attempt_at", None)
    return bool(
        OutboundMessage.objects.filter(
            pk=message.pk, status=MessageStatus.SENDING, attempts=message.attempts
        ).update(**fields)
    )


def _finish(message: OutboundMessage, status: str, error: str) -> None:
    _settle(message, status=status, last_error=error[:2000])


def messages_resume(*, now: dt.datetime | None = None) -> int:
    """Deliveries whose task was lost — a worker killed while sending (its lease has run
    out), a task that never ran — enqueued again; how many. The claim in message_deliver
    makes an extra enqueue harmless."""
    now = now or timezone.now()
    late = now - STALLED_AFTER
    OutboundMessage.objects.filter(
        status=MessageStatus.SENDING, next_attempt_at__lte=now, attempts__gte=MAX_ATTEMPTS
    ).update(
        status=MessageStatus.FAILED,
        next_attempt_at=None,
        last_error="the worker was lost while sending, too many times",
    )
    stalled = list(
        OutboundMessage.objects.filter(
            Q(status=MessageStatus.SENDING, next_attempt_at__lte=now)
            | Q(status=MessageStatus.PENDING, next_attempt_at__lte=late)
            | Q(status=MessageStatus.PENDING, next_attempt_at__isnull=True, created_at__lte=late)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:RESUME_BATCH]
    )
    if stalled:
        deliver_messages.enqueue(stalled)
    return len(stalled)


@transaction.atomic
def _retry_later(message: OutboundMessage, when: dt.datetime, error: str) -> None:
    if _settle(
        message, status=MessageStatus.PENDING, next_attempt_at=when, last_error=error[:2000]
    ):
        deliver_message.using(run_after=when).enqueue(message.pk)


@transaction.atomic
def message_retry_now(*, message_id: int) -> OutboundMessage:
    """An operator's 'try again now' for a waiting or failed message."""
    pk = as_id(message_id, code="unknown_message", message=UNKNOWN_MESSAGE, field="message")
    try:
        message = OutboundMessage.objects.select_for_update().get(pk=pk)
    except OutboundMessage.DoesNotExist:
        raise ServiceError("unknown_message", UNKNOWN_MESSAGE, field="message") from None
    if message.status not in (MessageStatus.PENDING, MessageStatus.FAILED):
        raise ServiceError(
            "message_not_retryable",
            _("Diese Nachricht wird gerade gesendet oder ist schon gesendet."),
            field="message",
        )
    message.status = MessageStatus.PENDING
    message.next_attempt_at = None
    message.save(update_fields=["status", "next_attempt_at"])
    deliver_message.enqueue(message.pk)
    return message


def messages_erase(*, holder: str) -> int:
    """A person's data erased (GDPR Art. 17): the messages sent to them go too. Those still
    waiting stay until they are sent (a cancellation's confirmation, say), then expire with
    the others. How many."""
    if not holder:
        return 0
    deleted, _by_model = OutboundMessage.objects.filter(
        holder=holder, status__in=[MessageStatus.SENT, MessageStatus.FAILED]
    ).delete()
    return deleted


def messages_expire(*, now: dt.datetime | None = None) -> int:
    """Sent and failed messages (their texts name people and times) are deleted
    RETENTION_MESSAGE_DAYS after they were written; waiting ones stay. How many."""
    now = now or timezone.now()
    deleted, _by_model = OutboundMessage.objects.filter(
        status__in=[MessageStatus.SENT, MessageStatus.FAILED],
        created_at__lt=now - dt.timedelta(days=settings.RETENTION_MESSAGE_DAYS),
    ).delete()
    return deleted
