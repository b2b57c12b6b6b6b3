"""The audit log: every lookup, view, change and export of personal data by staff, with who,
when, what, which record and why. Entries are written once and never changed or deleted:
the model refuses it, and on PostgreSQL a trigger refuses it for any client of the
table (migration 0002).

Retention (issue 10): entries older than RETENTION_AUDIT_DAYS are deleted by
`audit/retention.py`, a job that connects as a separate, privileged database role (the
table's owner, which the application's role must not be) and lifts the trigger for its own
transaction only. Deliberately not possible through the application.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """An audit entry was to be changed or deleted."""


class AuditAction(models.TextChoices):
    LOOKUP = "lookup", _("Suche")
    VIEW = "view", _("Ansicht")
    CHANGE = "change", _("Änderung")
    EXPORT = "export", _("Export")
    DELETE = "delete", _("Löschung")


class AuditSubject(models.TextChoices):
    """The kinds of records that hold personal data."""

    REGISTRATION = "registration", _("Registrierung")
    APPOINTMENT_PAIR = "appointment_pair", _("Terminpaar")
    BOOKING_CODE = "booking_code", _("Vermittlungscode")
    PRINT_BATCH = "print_batch", _("Druckstapel")
    OUTBOUND_MESSAGE = "outbound_message", _("Nachricht")


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are never changed")

    def delete(self):
        raise AppendOnlyError("audit entries are never deleted")


class AuditEntry(models.Model):
    """One access by a staff member to one record (or one search). `which` is the record's
    id, never personal data (for a registration its pk, not the Vorgangskennung); `detail`
    names fields, never their values."""

    # PROTECT: a staff account with entries is deactivated, not deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Benutzer"),
    )
    # As it was at the time: an account renamed later does not rewrite history.
    username = models.CharField(_("Benutzername"), max_length=150)
    at = models.DateTimeField(_("Zeitpunkt"), auto_now_add=True, db_index=True)
    action = models.CharField(_("Aktion"), max_length=10, choices=AuditAction)
    what = models.CharField(_("Art des Datensatzes"), max_length=30, choices=AuditSubject)
    which = models.CharField(_("Datensatz"), max_length=64, blank=True)
    why = models.CharField(_("Grund"), max_length=200, blank=True)
    detail = models.CharField(_("Einzelheiten"), max_length=200, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("Protokolleintrag")
        verbose_name_plural = _("Protokolleinträge")
        ordering = ["-at", "-id"]
        # Only reading can be granted: adding happens through the service, and nobody may
        # change or delete entries.
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values), name="audit_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(what__in=AuditSubject.values), name="audit_what_valid"
            ),
        ]
        # "Who has seen registration 42?"
        indexes = [models.Index(fields=["what", "which"], name="audit_record_idx")]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.what} {self.which}".rstrip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries are never changed")
        # Never an UPDATE, even for an instance built with the pk of an existing row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are never deleted")
