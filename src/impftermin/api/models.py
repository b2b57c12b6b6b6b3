"""Partner systems of the OpenAPI (`/api/v1/`): their keys (stored as keyed hashes,
revocable), what each key may do and where, a log of every call, the replies kept for
idempotency keys, and signed webhooks with their deliveries."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What a partner may do; reading public data needs no key."""

    SEARCH = "search", _("freie Terminpaare suchen")
    BOOK = "book", _("mit Vermittlungscodes buchen")
    MANAGE = "manage", _("Buchungen mit Vermittlungscode ansehen, umbuchen, stornieren")
    REGISTER = "register", _("Registrierungen anlegen und abfragen")


class Partner(models.Model):
    """A partner system (a city's portal, a doctors' network): the regions it works in and
    the operations it may call."""

    name = models.CharField(_("Name"), max_length=150, unique=True)
    regions = models.ManyToManyField("regions.Region", related_name="+", verbose_name=_("Regionen"))
    scopes = models.JSONField(
        _("Befugnisse"), default=list, help_text=_("search, book, manage, register")
    )
    active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(_("angelegt am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Partner")
        verbose_name_plural = _("Partner")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """One key of a partner. Shown once when it is made; stored as the keyed hash of the
    secret part. `prefix` (not secret) finds the row and names the key in logs."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="keys", verbose_name=_("Partner")
    )
    prefix = models.CharField(_("Kennung"), max_length=12, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    label = models.CharField(_("Bezeichnung"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("erzeugt am"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("widerrufen am"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("zuletzt benutzt"), null=True, blank=True)

    class Meta:
        verbose_name = _("API-Schlüssel")
        verbose_name_plural = _("API-Schlüssel")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.partner} · {self.prefix}"


class PartnerCall(models.Model):
    """Every authenticated call: who (key), when, which operation, the answer's status,
    and the record's id where there is one — never personal data. Written once."""

    key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, related_name="calls", verbose_name=_("Schlüssel")
    )
    at = models.DateTimeField(_("Zeitpunkt"), auto_now_add=True, db_index=True)
    operation = models.CharField(_("Operation"), max_length=60)
    status = models.PositiveSmallIntegerField(_("Status"))
    which = models.CharField(_("Datensatz"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("Partneraufruf")
        verbose_name_plural = _("Partneraufrufe")
        ordering = ["-at", "-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.operation} {self.status}"


class IdempotentReply(models.Model):
    """The reply to a booking request sent with an `Idempotency-Key`: a repeat of the same
    request gets it again instead of booking twice. `status` 0: still being worked on."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(blank=True)  # the JSON as first sent, byte for byte
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("Idempotente Antwort")
        verbose_name_plural = _("Idempotente Antworten")
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class Webhook(models.Model):
    """Where a partner wants to hear of the bookings it made (created, rebooked,
    cancelled): an https URL; each delivery is signed with the secret (HMAC-SHA256)."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="webhooks", verbose_name=_("Partner")
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("Signaturschlüssel"), max_length=64, editable=False)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        verbose_name = _("Webhook")
        verbose_name_plural = _("Webhooks")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("wartet")
    SENDING = "sending", _("wird gesendet")
    SENT = "sent", _("zugestellt")
    FAILED = "failed", _("gescheitert")


class WebhookDelivery(models.Model):
    """One event for one webhook, retried with growing pauses until the partner's server
    answers 2xx (as the message outbox does)."""

    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("Webhook")
    )
    event = models.CharField(_("Ereignis"), max_length=40)
    payload = models.JSONField(_("Inhalt"))
    status = models.CharField(
        _("Status"), max_length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("Versuche"), default=0)
    next_attempt_at = models.DateTimeField(_("nächster Versuch"), null=True, blank=True)
    last_error = models.TextField(_("letzter Fehler"), blank=True)
    created_at = models.DateTimeField(_("erstellt am"), auto_now_add=True)
    sent_at = models.DateTimeField(_("zugestellt am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Webhook-Zustellung")
        verbose_name_plural = _("Webhook-Zustellungen")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"
