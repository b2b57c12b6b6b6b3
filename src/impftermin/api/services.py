"""Use cases of the partner API that are its own: keys (issue, check, revoke), the call
log, idempotency keys and webhooks. Booking, codes and registrations are the other apps'
services; the API calls them like every other channel."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from impftermin.api.models import (
    ApiKey,
    DeliveryStatus,
    IdempotentReply,
    Partner,
    PartnerCall,
    Webhook,
    WebhookDelivery,
)
from impftermin.api.tasks import deliver_webhook
from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import keyed_hash
from impftermin.notifications.services import MAX_ATTEMPTS, retry_delay

KEY_PREFIX = "itk"  # "Impftermin key": recognisable in logs and by secret scanners
IDEMPOTENCY_DAYS = 1
WEBHOOK_TIMEOUT = 10
SIGNATURE_HEADER = "Impftermin-Signature"


# --- keys -------------------------------------------------------------------------------------


def api_key_issue(*, partner_id: int, label: str = "") -> tuple[ApiKey, str]:
    """A new key for a partner; the text is returned this once and never stored."""
    partner = Partner.objects.get(pk=partner_id)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        partner=partner,
        prefix=prefix,
        secret_hash=keyed_hash("api-key", secret),
        label=label[:100],
    )
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def api_key_revoke(*, key_id: int) -> int:
    """Revoked keys are refused from the next request on."""
    return ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def api_key_check(text: object) -> ApiKey | None:
    """The live key (with its active partner) for a key text, else None; compared in
    constant time. Marks the key used at most once a minute (no write per request)."""
    if not isinstance(text, str) or len(text) > 100:
        return None
    parts = text.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = (
        ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True, partner__active=True)
        .select_related("partner")
        .first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, keyed_hash("api-key", parts[2])):
        return None
    now = timezone.now()
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - dt.timedelta(minutes=1)),
        pk=key.pk,
    ).update(last_used_at=now)
    return key


def partner_call_record(*, key: ApiKey, operation: str, status: int, which: object = "") -> None:
    PartnerCall.objects.create(
        key=key, operation=operation[:60], status=status, which=str(which or "")[:64]
    )


# --- idempotency keys ---------------------------------------------------------------------


IN_PROGRESS = _(
    "Die erste Anfrage mit diesem Idempotency-Key läuft noch. Bitte gleich erneut senden."
)
STALE_CLAIM = dt.timedelta(minutes=1)  # longer than any request may run
IDEMPOTENCY_REUSED = _("Dieser Idempotency-Key wurde schon für eine andere Anfrage verwendet.")


def idempotency_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def idempotent_begin(*, partner: Partner, key: object, fingerprint: str) -> IdempotentReply:
    """Claim an idempotency key for a request. Returns the claim (status 0) to finish
    later, or the finished reply of an earlier identical request (status > 0, to be sent
    again). The same key with another request, or while the first is still being
    worked on, is refused."""
    if not isinstance(key, str) or not 1 <= len(key) <= 100 or not key.isprintable():
        raise ServiceError(
            "idempotency_key_invalid",
            _("Der Idempotency-Key hat 1 bis 100 druckbare Zeichen."),
            field="Idempotency-Key",
        )
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotentReply.objects.create(
                    partner=partner, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            pass
        earlier = IdempotentReply.objects.filter(partner=partner, key=key).first()
        if earlier is None:
            continue  # abandoned or cleaned up meanwhile: claim it now
        if earlier.status == 0 and earlier.created_at < timezone.now() - STALE_CLAIM:
            # The first request's process died without an answer (its change rolled back
            # with it): the key is free again.
            IdempotentReply.objects.filter(pk=earlier.pk, status=0).delete()
            continue
        break
    else:
        raise ServiceError(
            "idempotency_in_progress", IN_PROGRESS, field="Idempotency-Key", retry_after=1
        )
    if earlier.fingerprint != fingerprint:
        raise ServiceError("idempotency_key_reused", IDEMPOTENCY_REUSED, field="Idempotency-Key")
    if earlier.status == 0:
        raise ServiceError(
            "idempotency_in_progress", IN_PROGRESS, field="Idempotency-Key", retry_after=1
        )
    return earlier


def idempotent_finish(*, claim: IdempotentReply, status: int, body: str) -> None:
    """Keep the reply (its JSON text) for a repeat of the request."""
    IdempotentReply.objects.filter(pk=claim.pk).update(status=status, body=body)


def idempotent_abandon(*, claim: IdempotentReply) -> None:
    """The request failed without an answer worth keeping: the key may be used again."""
    IdempotentReply.objects.filter(pk=claim.pk, status=0).delete()


def idempotent_replies_expired_delete() -> int:
    cutoff = timezone.now() - dt.timedelta(days=IDEMPOTENCY_DAYS)
    deleted, _count = IdempotentReply.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- webhooks -------------------------------------------------------------------------------


def webhook_secret_new() -> str:
    return secrets.token_hex(32)


def webhooks_notify(*, partner: Partner, event: str, payload: dict) -> int:
    """Queue an event for each active webhook of the partner; call it inside the
    transaction of the change, so that an event goes out exactly when the change holds."""
    deliveries = [
        WebhookDelivery.objects.create(webhook=hook, event=event, payload=payload)
        for hook in Webhook.objects.filter(partner=partner, active=True)
    ]
    for delivery in deliveries:
        deliver_webhook.enqueue(delivery.pk)
    return len(deliveries)


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it
    with the shared secret and refuses old timestamps (replays)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without the event, or lead elsewhere:
    it counts as not delivered."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def webhook_deliver(*, delivery_id: int) -> str:
    """POST one delivery if it is due and nobody else is sending it; a 2xx answer ends
    it, anything else is retried later (30 s, 1 min, … up to an hour between tries)."""
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = WebhookDelivery.objects.filter(
        due, pk=delivery_id, status=DeliveryStatus.PENDING, webhook__active=True
    ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    body = json.dumps(
        {"id": delivery.pk, "event": delivery.event, "data": delivery.payload},
        separators=(",", ":"),
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - an operator's http(s) URL (URLField)
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Impftermin-Webhook/1",
            "Impftermin-Event": delivery.event,
            "Impftermin-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: webhook_signature(delivery.webhook.secret, int(time.time()), body),
        },
    )
    try:
        with _OPENER.open(request, timeout=WEBHOOK_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as error:  # including a redirect: not followed, not delivered
        status, problem = error.code, f"HTTP {error.code}"
    except Exception as error:  # unreachable, timeout, a malformed answer: try again later
        status, problem = 0, f"{type(error).__name__}: {error}"
    if 200 <= status < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
        )
        return "sent"
    if delivery.attempts >= MAX_ATTEMPTS:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, last_error=problem[:2000]
        )
        return "failed"
    when = now + retry_delay(delivery.attempts)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=when, last_error=problem[:2000]
        )
        deliver_webhook.using(run_after=when).enqueue(delivery.pk)
    return "retry"


def webhook_url_allowed(url: str) -> bool:
    """Production sends events to https only; development and tests may use http."""
    return url.startswith("https://") or (not settings.PRODUCTION and url.startswith("http://"))
