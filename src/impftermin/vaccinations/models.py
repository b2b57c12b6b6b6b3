"""The vaccination record (issue 7): one row per dose given, at a checked-in appointment,
with the vaccine's batch number and who gave it. A person gets each dose once: the
database refuses a second record of the same dose for the same person (holder)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from impftermin.booking.models import Appointment
from impftermin.centres.models import Centre
from impftermin.vaccines.models import Vaccine


class AgeGroup(models.TextChoices):
    """The age groups of the RKI's digital vaccination monitoring (the daily export)."""

    UNDER_12 = "0-11", _("unter 12")
    FROM_12 = "12-17", _("12 bis 17")
    FROM_18 = "18-59", _("18 bis 59")
    FROM_60 = "60+", _("60 und älter")
    UNKNOWN = "unbekannt", _("unbekannt")  # booked with codes: no date of birth is kept


class Vaccination(models.Model):
    appointment = models.OneToOneField(
        Appointment,
        on_delete=models.PROTECT,
        related_name="vaccination",
        verbose_name=_("Termin"),
    )
    # The person, as their pair's holder (a booking code set or a registration).
    holder = models.CharField(_("Person"), max_length=80)
    dose = models.PositiveSmallIntegerField(_("Impfung Nr."), choices=[(1, "1"), (2, "2")])
    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.PROTECT, related_name="+", verbose_name=_("Impfstoff")
    )
    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="+", verbose_name=_("Impfzentrum")
    )
    batch_number = models.CharField(_("Chargennummer"), max_length=40)
    # On the day of the dose; the only trace of the person's age, for the counts.
    age_group = models.CharField(_("Altersgruppe"), max_length=10, choices=AgeGroup)
    vaccinated_at = models.DateTimeField(_("geimpft am"), db_index=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("geimpft von"),
    )

    class Meta:
        verbose_name = _("Impfung")
        verbose_name_plural = _("Impfungen")
        ordering = ["-vaccinated_at"]
        default_permissions = ("view",)  # written only by the service at the centre
        permissions = [("check_in", "Personen einchecken und Impfungen erfassen")]
        constraints = [
            models.UniqueConstraint(fields=["holder", "dose"], name="one_vaccination_per_dose"),
            models.CheckConstraint(condition=Q(dose__in=[1, 2]), name="vaccination_dose_1_or_2"),
            models.CheckConstraint(
                condition=~Q(batch_number=""), name="vaccination_has_batch_number"
            ),
            models.CheckConstraint(
                condition=Q(age_group__in=AgeGroup.values), name="vaccination_age_group_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vaccine.code} {self.dose}. {self.vaccinated_at:%Y-%m-%d}"
