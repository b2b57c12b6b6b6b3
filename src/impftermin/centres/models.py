from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from impftermin.regions.models import District, postcode_validator
from impftermin.vaccines.models import Vaccine


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Montag")
    TUESDAY = 1, _("Dienstag")
    WEDNESDAY = 2, _("Mittwoch")
    THURSDAY = 3, _("Donnerstag")
    FRIDAY = 4, _("Freitag")
    SATURDAY = 5, _("Samstag")
    SUNDAY = 6, _("Sonntag")


class Centre(models.Model):
    """An Impfzentrum; it belongs to one district and vaccinates that district's people (R9)."""

    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="centres", verbose_name=_("Kreis")
    )
    name = models.CharField(_("Name"), max_length=150)
    street = models.CharField(_("Straße und Hausnummer"), max_length=150)
    postcode = models.CharField(_("Postleitzahl"), max_length=5, validators=[postcode_validator])
    city = models.CharField(_("Ort"), max_length=100)
    accessibility_notes = models.TextField(_("Hinweise zur Barrierefreiheit"), blank=True)
    # R12: centres are open on weekends and public holidays unless an operator says otherwise.
    open_on_public_holidays = models.BooleanField(_("an Feiertagen geöffnet"), default=True)
    active = models.BooleanField(_("aktiv"), default=True)
    # Centre staff check people in and record doses only at their own centres (issue 7).
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="centres",
        verbose_name=_("Personal des Impfzentrums"),
    )

    class Meta:
        verbose_name = _("Impfzentrum")
        verbose_name_plural = _("Impfzentren")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "name"], name="centre_name_unique_in_district"
            ),
            models.CheckConstraint(
                condition=Q(postcode__regex=r"^[0-9]{5}$"), name="centre_postcode_5_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"


class OpeningHours(models.Model):
    centre = models.ForeignKey(
        Centre,
        on_delete=models.CASCADE,
        related_name="opening_hours",
        verbose_name=_("Impfzentrum"),
    )
    weekday = models.PositiveSmallIntegerField(_("Wochentag"), choices=Weekday)
    opens = models.TimeField(_("öffnet"))
    closes = models.TimeField(_("schließt"))

    class Meta:
        verbose_name = _("Öffnungszeit")
        verbose_name_plural = _("Öffnungszeiten")
        ordering = ["centre", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens__lt=F("closes")), name="opening_hours_opens_before_closes"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="opening_hours_weekday_valid"
            ),
            models.UniqueConstraint(
                fields=["centre", "weekday", "opens"], name="opening_hours_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class CentreCapacity(models.Model):
    """How many people a centre vaccinates with a vaccine per time unit (slot)."""

    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, related_name="capacities", verbose_name=_("Impfzentrum")
    )
    vaccine = models.ForeignKey(
        Vaccine,
        on_delete=models.PROTECT,
        related_name="centre_capacities",
        verbose_name=_("Impfstoff"),
    )
    slot_minutes = models.PositiveSmallIntegerField(_("Zeiteinheit (Minuten)"), default=5)
    seats_per_slot = models.PositiveSmallIntegerField(_("Plätze je Zeiteinheit"))
    # Set by the slot generation: the daily top-up continues from the day after.
    generated_through = models.DateField(
        _("Zeitfenster angelegt bis"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("Kapazität")
        verbose_name_plural = _("Kapazitäten")
        ordering = ["centre", "vaccine"]
        constraints = [
            models.UniqueConstraint(
                fields=["centre", "vaccine"], name="capacity_once_per_centre_vaccine"
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=1, slot_minutes__lte=240),
                name="capacity_slot_minutes_valid",
            ),
            models.CheckConstraint(
                condition=Q(seats_per_slot__gt=0), name="capacity_seats_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.centre} · {self.vaccine.code}: {self.seats_per_slot}/{self.slot_minutes} min"


class CentreClosure(models.Model):
    """A single day the centre is closed (issue 7): no slots are planned for it."""

    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, related_name="closures", verbose_name=_("Impfzentrum")
    )
    day = models.DateField(_("Tag"))
    reason = models.CharField(_("Grund"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("Schließtag")
        verbose_name_plural = _("Schließtage")
        ordering = ["centre", "day"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "day"], name="closure_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.centre} {self.day:%Y-%m-%d}"
