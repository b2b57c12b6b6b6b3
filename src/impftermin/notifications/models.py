from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from impftermin.core.encryption import EncryptedTextField


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-Mail")
    SMS = "sms", _("SMS")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("wartet")
    SENDING = "sending", _("wird gesendet")
    SENT = "sent", _("gesendet")
    FAILED = "failed", _("fehlgeschlagen")


class OutboundMessage(models.Model):
    """An e-mail or SMS to send. Written in the same transaction as the change that causes
    it, together with the task that sends it, so that no message is lost and none is sent
    for a change that was rolled back."""

    channel = models.CharField(_("Kanal"), max_length=10, choices=MessageChannel)
    kind = models.CharField(_("Art"), max_length=50, help_text=_("wofür, z. B. sms_pin"))
    recipient = models.CharField(_("Empfänger"), max_length=254)
    # whose message: the holder of the person's codes or registration (codes:<id>, reg:<id>,
    # as on their appointment pairs), for their copy of their data and its erasure; empty
    # for the steps before a person has one (PIN, address check) and operators' alerts
    holder = models.CharField(_("Inhaber"), max_length=80, blank=True, db_index=True)
    subject = models.CharField(_("Betreff"), max_length=200, blank=True)
    # encrypted at rest (core/encryption.py): texts carry codes, links, names and times
    body = EncryptedTextField(_("Text"))
    # One text attachment at most (the calendar file of a booking confirmation).
    attachment_name = models.CharField(_("Anhang"), max_length=100, blank=True)
    attachment_type = models.CharField(_("Art des Anhangs"), max_length=100, blank=True)
    attachment = EncryptedTextField(_("Inhalt des Anhangs"), blank=True)
    status = models.CharField(
        _("Status"), max_length=10, choices=MessageStatus, default=MessageStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("Versuche"), default=0)
    last_error = models.TextField(_("letzter Fehler"), blank=True)
    next_attempt_at = models.DateTimeField(_("nächster Versuch"), null=True, blank=True)
    created_at = models.DateTimeField(_("erstellt am"), auto_now_add=True)
    sent_at = models.DateTimeField(_("gesendet am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Nachricht")
        verbose_name_plural = _("Nachrichten")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=MessageChannel.values), name="message_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=MessageStatus.values), name="message_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=MessageStatus.SENT, sent_at__isnull=False)
                | (~Q(status=MessageStatus.SENT) & Q(sent_at__isnull=True)),
                name="message_sent_at_matches_status",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="message_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} {self.kind} ({self.get_status_display()})"
