from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ags_validator = RegexValidator(r"^\d{5}$", _("Der Kreisschlüssel hat genau 5 Ziffern."))
postcode_validator = RegexValidator(r"^\d{5}$", _("Eine Postleitzahl hat genau 5 Ziffern."))


# The most SMS PINs a region may allow per mobile number and day (R3); the database holds it.
MAX_PINS_PER_MOBILE_PER_DAY = 10


class BookingMode(models.TextChoices):
    CODES = "codes", _("Vermittlungscodes (wie Westfalen-Lippe)")
    ASSIGNMENT = "assignment", _("Registrierung und Zuweisung (wie Hessen)")


class Bundesland(models.TextChoices):
    """ISO 3166-2:DE subdivision codes, as the `holidays` package expects them."""

    BW = "BW", "Baden-Württemberg"
    BY = "BY", "Bayern"
    BE = "BE", "Berlin"
    BB = "BB", "Brandenburg"
    HB = "HB", "Bremen"
    HH = "HH", "Hamburg"
    HE = "HE", "Hessen"
    MV = "MV", "Mecklenburg-Vorpommern"
    NI = "NI", "Niedersachsen"
    NW = "NW", "Nordrhein-Westfalen"
    RP = "RP", "Rheinland-Pfalz"
    SL = "SL", "Saarland"
    SN = "SN", "Sachsen"
    ST = "ST", "Sachsen-Anhalt"
    SH = "SH", "Schleswig-Holstein"
    TH = "TH", "Thüringen"


class Region(models.Model):
    """Unit of configuration: booking mode, hotline and the rules, held as data."""

    slug = models.SlugField(_("Kurzname"), unique=True)
    name = models.CharField(_("Name"), max_length=100, unique=True)
    booking_mode = models.CharField(_("Buchungsverfahren"), max_length=20, choices=BookingMode)
    bundesland = models.CharField(
        _("Bundesland"), max_length=2, choices=Bundesland, help_text=_("für die Feiertage")
    )
    # The Kassenärztliche Vereinigung's number, as the 2021 protocol reports it (impftermin.its).
    kv_number = models.CharField(
        _("KV-Nummer"),
        max_length=2,
        blank=True,
        validators=[RegexValidator(r"^\d{2}$", _("Die KV-Nummer hat genau 2 Ziffern."))],
    )
    hotline = models.CharField(_("Hotline"), max_length=40, blank=True)
    hotline_abroad = models.CharField(_("Hotline aus dem Ausland"), max_length=40, blank=True)
    hotline_hours = models.CharField(_("Erreichbarkeit der Hotline"), max_length=200, blank=True)
    pins_per_mobile_per_day = models.PositiveSmallIntegerField(
        _("SMS-PINs je Mobilnummer und Tag"), default=3
    )
    pin_validity_minutes = models.PositiveSmallIntegerField(
        _("Gültigkeit der PIN (Minuten)"), default=10
    )
    rebook_cutoff_days = models.PositiveSmallIntegerField(
        _("Umbuchen bis spätestens (Tage vor dem Termin)"), default=3
    )
    short_notice_days = models.PositiveSmallIntegerField(
        _("Kurzfristige Termine (Tage)"), default=4
    )
    release_days_ahead = models.PositiveSmallIntegerField(
        _("Termine buchbar bis (Tage im Voraus)"), default=28
    )
    # Issue 7 (R9): the release makes no more first-dose seats bookable in a district than
    # its allocated doses allow (second doses held back).
    cap_by_allocation = models.BooleanField(
        _("Buchbare Termine auf die zugeteilten Impfdosen begrenzen"), default=True
    )
    # Issue 7: whoever missed the first appointment loses the second after this many days
    # (the seat goes to others) and is told.
    no_show_grace_days = models.PositiveSmallIntegerField(
        _("Nach einem versäumten Ersttermin wird der Zweittermin frei nach (Tagen)"), default=2
    )
    # Eligibility beyond the vaccines' own ages: in early 2021 only people of 80 and over.
    min_age = models.PositiveSmallIntegerField(
        _("Termine ab einem Alter von (Jahren)"),
        default=0,
        help_text=_(
            "Wer jünger ist, kann in dieser Region noch keinen Termin buchen (0: nur die Altersgrenzen der Impfstoffe)."
        ),
    )

    class Meta:
        verbose_name = _("Region")
        verbose_name_plural = _("Regionen")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    pins_per_mobile_per_day__gte=1,
                    pins_per_mobile_per_day__lte=MAX_PINS_PER_MOBILE_PER_DAY,
                )
                & Q(pin_validity_minutes__gte=1)
                & Q(release_days_ahead__gte=1)
                & Q(short_notice_days__gte=1),
                name="region_rules_positive",
            ),
            models.CheckConstraint(
                condition=Q(booking_mode__in=BookingMode.values), name="region_booking_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(bundesland__in=Bundesland.values), name="region_bundesland_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DistrictKind(models.TextChoices):
    KREIS = "kreis", _("Kreis")
    KREISFREIE_STADT = "kreisfreie_stadt", _("kreisfreie Stadt")


class District(models.Model):
    """Kreis or kreisfreie Stadt: the unit of dose allocation, by population (R9)."""

    ags = models.CharField(
        _("Kreisschlüssel (AGS)"), max_length=5, unique=True, validators=[ags_validator]
    )
    name = models.CharField(_("Name"), max_length=100)
    kind = models.CharField(_("Art"), max_length=20, choices=DistrictKind)
    population = models.PositiveIntegerField(_("Einwohner"))
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="districts", verbose_name=_("Region")
    )

    class Meta:
        verbose_name = _("Kreis")
        verbose_name_plural = _("Kreise")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ags__regex=r"^[0-9]{5}$"), name="district_ags_5_digits"
            ),
            models.CheckConstraint(
                condition=Q(population__gt=0), name="district_population_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=DistrictKind.values), name="district_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Postcode(models.Model):
    """A PLZ; it can span several districts, even several regions (R12)."""

    code = models.CharField(
        _("Postleitzahl"), max_length=5, unique=True, validators=[postcode_validator]
    )
    districts = models.ManyToManyField(District, related_name="postcodes", verbose_name=_("Kreise"))

    class Meta:
        verbose_name = _("Postleitzahl")
        verbose_name_plural = _("Postleitzahlen")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{5}$"), name="postcode_5_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.code
