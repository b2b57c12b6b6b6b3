from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from impftermin.regions.models import District, Region


class Vaccine(models.Model):
    """A vaccine with its doses and interval; codes as in 2021 (L920 BioNTech, …)."""

    code = models.CharField(_("Code"), max_length=10, unique=True)
    name = models.CharField(_("Name"), max_length=100)
    doses = models.PositiveSmallIntegerField(_("Impfdosen"), choices=[(1, "1"), (2, "2")])
    min_interval_days = models.PositiveSmallIntegerField(
        _("Mindestabstand (Tage)"), null=True, blank=True
    )
    max_interval_days = models.PositiveSmallIntegerField(
        _("Höchstabstand (Tage)"), null=True, blank=True
    )
    min_age = models.PositiveSmallIntegerField(_("Mindestalter"), default=18)
    max_age = models.PositiveSmallIntegerField(
        _("Höchstalter"), null=True, blank=True, help_text=_("leer: ohne Altersgrenze")
    )
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        verbose_name = _("Impfstoff")
        verbose_name_plural = _("Impfstoffe")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(doses__in=[1, 2]), name="vaccine_doses_1_or_2"),
            # A two-dose vaccine needs 0 < min <= max; a single-dose one has no interval.
            models.CheckConstraint(
                condition=(
                    Q(doses=1, min_interval_days__isnull=True, max_interval_days__isnull=True)
                    | Q(
                        doses=2,
                        min_interval_days__gt=0,
                        max_interval_days__gte=models.F("min_interval_days"),
                    )
                ),
                name="vaccine_interval_matches_doses",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Delivery(models.Model):
    """Doses of a vaccine delivered to a region, split to its districts by population (R9)."""

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("Region")
    )
    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("Impfstoff")
    )
    doses = models.PositiveIntegerField(_("Impfdosen"))
    delivered_on = models.DateField(_("Liefertag"))
    created_at = models.DateTimeField(_("erfasst am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Lieferung")
        verbose_name_plural = _("Lieferungen")
        ordering = ["-delivered_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(doses__gt=0), name="delivery_doses_positive")
        ]

    def __str__(self) -> str:
        return f"{self.region} · {self.vaccine.code} · {self.doses} · {self.delivered_on}"


class DistrictAllocation(models.Model):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("Lieferung")
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("Kreis")
    )
    doses = models.PositiveIntegerField(_("Impfdosen"))

    class Meta:
        verbose_name = _("Zuteilung")
        verbose_name_plural = _("Zuteilungen")
        ordering = ["delivery", "district__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "district"], name="allocation_once_per_district"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district}: {self.doses}"
