from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from impftermin.regions.models import MAX_PINS_PER_MOBILE_PER_DAY, Region


class PinRequest(models.Model):
    """One SMS PIN for one person (R2). A mobile number may receive at most the region's
    number of PINs per calendar day (R3): each PIN takes the next sequence number of its
    (mobile, day), and the database keeps those unique, so parallel requests cannot get
    one more than allowed."""

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("Region")
    )
    mobile = models.CharField(_("Mobilnummer"), max_length=20, help_text=_("im Format E.164"))
    day = models.DateField(_("Tag"))
    sequence = models.PositiveSmallIntegerField(_("laufende Nummer am Tag"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    pin_hash = models.CharField(max_length=64, editable=False)
    email = models.EmailField(_("E-Mail-Adresse"))
    language = models.CharField(_("Sprache"), max_length=8, default="de")
    expires_at = models.DateTimeField(_("gültig bis"))
    failed_attempts = models.PositiveSmallIntegerField(_("Fehlversuche"), default=0)
    verified_at = models.DateTimeField(_("bestätigt am"), null=True, blank=True)
    created_at = models.DateTimeField(_("angefordert am"), auto_now_add=True)

    class Meta:
        verbose_name = _("SMS-PIN")
        verbose_name_plural = _("SMS-PINs")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mobile", "day", "sequence"], name="pin_sequence_unique_per_mobile_day"
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1, sequence__lte=MAX_PINS_PER_MOBILE_PER_DAY),
                name="pin_sequence_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"PIN #{self.pk} ({self.day})"
