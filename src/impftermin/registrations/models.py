from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from impftermin.booking.models import AppointmentPair, Channel
from impftermin.centres.models import Centre
from impftermin.core.encryption import EncryptedCharField
from impftermin.regions.models import District, Region, postcode_validator
from impftermin.vaccines.models import Vaccine


class RegistrationStatus(models.TextChoices):
    REVIEW = "review", _("wird geprüft")  # the population register did not confirm it (R14)
    WAITING = "waiting", _("wartet auf einen Termin")
    ASSIGNED = "assigned", _("Termin zugewiesen")
    DELETED = "deleted", _("gelöscht")


class Residence(models.TextChoices):
    FIRST = "first", _("Hauptwohnsitz")
    SECOND = "second", _("Nebenwohnsitz")


class Registration(models.Model):
    """A person in the assignment pool of a region (R13), identified by their
    Vorgangskennung. Their pair is booked under `holder`."""

    vorgangskennung = models.CharField(_("Vorgangskennung"), max_length=14, unique=True)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("Region")
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="+", verbose_name=_("Kreis")
    )
    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="+", verbose_name=_("Impfzentrum")
    )
    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.PROTECT, related_name="+", verbose_name=_("Impfstoff")
    )
    single_dose = models.BooleanField(_("nur eine Impfung (genesen)"), default=False)
    # encrypted at rest: looked up by no query (core/encryption.py); the last name and
    # birth date stay clear for the call center's and the desk's searches
    first_name = EncryptedCharField(_("Vorname"), max_length=100)
    last_name = models.CharField(_("Nachname"), max_length=100)
    birth_date = models.DateField(_("Geburtsdatum"))
    street = EncryptedCharField(_("Straße und Hausnummer"), max_length=150)
    postcode = models.CharField(_("Postleitzahl"), max_length=5, validators=[postcode_validator])
    city = EncryptedCharField(_("Ort"), max_length=100)
    residence = models.CharField(_("Wohnsitz"), max_length=10, choices=Residence)
    email = models.EmailField(_("E-Mail-Adresse"), blank=True)
    mobile = EncryptedCharField(_("Mobilnummer"), max_length=20, blank=True)
    for_someone_else = models.BooleanField(_("für eine andere Person registriert"), default=False)
    # Argon2 (Django's hashers); empty for phone registrations, who have no log-in (R21).
    password = models.CharField(_("Passwort"), max_length=128, blank=True, editable=False)
    channel = models.CharField(_("Kanal"), max_length=20, choices=Channel)
    language = models.CharField(_("Sprache"), max_length=8, default="de")
    # A keyed hash of name and date of birth: the same person registered twice is found.
    identity_key = models.CharField(max_length=64, editable=False)
    # Priority groups as an ordering (lower first); all 0 since prioritisation ended (R18).
    priority_group = models.PositiveSmallIntegerField(_("Prioritätsgruppe"), default=0)
    status = models.CharField(
        _("Status"), max_length=10, choices=RegistrationStatus, default=RegistrationStatus.WAITING
    )
    review_reason = models.CharField(_("Grund der Prüfung"), max_length=200, blank=True)
    # R19: a couple, linked by both Vorgangskennungen, is assigned adjacent pairs at the
    # same times. Both rows point at each other.
    partner = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Partner (gemeinsamer Termin)"),
    )
    created_at = models.DateTimeField(_("registriert am"), auto_now_add=True)
    deleted_at = models.DateTimeField(_("gelöscht am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Registrierung")
        verbose_name_plural = _("Registrierungen")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity_key"],
                condition=~Q(status="deleted"),
                name="registration_one_live_per_person",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RegistrationStatus.values), name="registration_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(residence__in=Residence.values), name="registration_residence_valid"
            ),
            models.CheckConstraint(
                condition=Q(postcode__regex=r"^[0-9]{5}$"), name="registration_postcode_5_digits"
            ),
        ]
        indexes = [
            # The assignment queue: waiting people of a centre, first come first served.
            models.Index(
                fields=["region", "status", "priority_group", "created_at", "id"],
                name="registration_queue_idx",
            )
        ]

    def __str__(self) -> str:
        return self.vorgangskennung

    @property
    def holder(self) -> str:
        return self.holder_of(self.pk)

    @staticmethod
    def holder_of(pk: int) -> str:
        """Its pair is booked under this holder."""
        return f"reg:{pk}"

    @staticmethod
    def pk_of_holder(holder: str) -> int:
        """The registration whose pair is booked under `holder` (see `holder_of`)."""
        return int(holder.removeprefix("reg:"))


class LetterReason(models.TextChoices):
    ASSIGNED = "assigned", _("Termine zugewiesen")
    REBOOKED = "rebooked", _("Termine verschoben")
    SHORT_NOTICE = "short_notice", _("kurzfristiger Termin")


class Letter(models.Model):
    """A letter with the current appointment pair to a registration without e-mail (R17).
    Its issue date is printed: a later letter overrides dates agreed earlier (R12). The
    name and address come from the registration when the print batch is made, so an
    erased registration (R23) is never printed."""

    registration = models.ForeignKey(
        Registration,
        on_delete=models.PROTECT,
        related_name="letters",
        verbose_name=_("Registrierung"),
    )
    pair = models.ForeignKey(
        AppointmentPair, on_delete=models.PROTECT, related_name="+", verbose_name=_("Terminpaar")
    )
    reason = models.CharField(_("Anlass"), max_length=20, choices=LetterReason)
    issued_on = models.DateField(_("ausgestellt am"))
    batch = models.ForeignKey(
        "PrintBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="letters",
        verbose_name=_("Druckstapel"),
    )
    created_at = models.DateTimeField(_("erstellt am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Brief")
        verbose_name_plural = _("Briefe")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["batch", "created_at"], name="letter_unprinted_idx")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.issued_on}"


class PrintBatch(models.Model):
    """The day's letters as one PDF for operators to print and post (R17)."""

    day = models.DateField(_("Tag"), unique=True)
    letter_count = models.PositiveIntegerField(_("Briefe"), default=0)
    pdf = models.BinaryField(_("PDF"), editable=False)
    created_at = models.DateTimeField(_("erstellt am"), auto_now_add=True)
    downloaded_at = models.DateTimeField(_("zuletzt heruntergeladen"), null=True, blank=True)

    class Meta:
        verbose_name = _("Druckstapel")
        verbose_name_plural = _("Druckstapel")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}"
