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
    # The vaccine the person chose after the eligibility check; their codes book it.
    vaccine = models.ForeignKey(
        "vaccines.Vaccine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Impfstoff"),
    )
    # A single-dose vaccine (or a recovered person, R27) needs one code, not two.
    single_dose = models.BooleanField(_("nur eine Impfung"), default=False)
    # Requested through the 2021 protocol (impftermin.its) at a centre of this district: the
    # codes book only there (the protocol's centre group). None: anywhere in the region.
    district = models.ForeignKey(
        "regions.District",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Kreis (Impfzentren-Gruppe)"),
    )
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


class EmailVerification(models.Model):
    """The single-use, expiring link mailed after a correct PIN (R2)."""

    pin_request = models.OneToOneField(
        PinRequest,
        on_delete=models.CASCADE,
        related_name="email_verification",
        verbose_name=_("SMS-PIN"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("gültig bis"))
    used_at = models.DateTimeField(_("verwendet am"), null=True, blank=True)

    class Meta:
        verbose_name = _("E-Mail-Bestätigung")
        verbose_name_plural = _("E-Mail-Bestätigungen")

    def __str__(self) -> str:
        return f"#{self.pk}"


class CodeSetChannel(models.TextChoices):
    ONLINE = "online", _("online")
    PHONE = "phone", _("Telefon")


class CodeSet(models.Model):
    """One person's booking codes: one per appointment of the pair (R2), or one for a
    single-dose vaccine. The person's pair is booked under this set (`holder`)."""

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("Region")
    )
    # Online: the SMS PIN the codes were issued after (R2); by phone there is none (R1).
    pin_request = models.OneToOneField(
        PinRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="code_set",
        verbose_name=_("SMS-PIN"),
    )
    channel = models.CharField(
        _("Kanal"), max_length=10, choices=CodeSetChannel, default=CodeSetChannel.ONLINE
    )
    # The vaccine chosen after the eligibility check; the codes book it.
    vaccine = models.ForeignKey(
        "vaccines.Vaccine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Impfstoff"),
    )
    single_dose = models.BooleanField(_("nur eine Impfung"), default=False)
    # Where confirmations go; empty for a phone booking without e-mail (R1: no mail).
    email = models.EmailField(_("E-Mail-Adresse"), blank=True)
    language = models.CharField(_("Sprache"), max_length=8, default="de")
    created_at = models.DateTimeField(_("erstellt am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Satz Vermittlungscodes")
        verbose_name_plural = _("Sätze Vermittlungscodes")
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=CodeSetChannel.values), name="code_set_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def holder(self) -> str:
        return f"codes:{self.pk}"


class BookingCode(models.Model):
    """A Vermittlungscode; only its keyed hash is stored."""

    code_set = models.ForeignKey(
        CodeSet, on_delete=models.CASCADE, related_name="codes", verbose_name=_("Satz")
    )
    dose = models.PositiveSmallIntegerField(_("Impfung Nr."), choices=[(1, "1"), (2, "2")])
    code_hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        verbose_name = _("Vermittlungscode")
        verbose_name_plural = _("Vermittlungscodes")
        constraints = [
            models.UniqueConstraint(fields=["code_set", "dose"], name="booking_code_one_per_dose"),
            models.CheckConstraint(condition=Q(dose__in=[1, 2]), name="booking_code_dose_1_or_2"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.dose})"


class StandbyStatus(models.TextChoices):
    WAITING = "waiting", _("wartet")
    OFFERED = "offered", _("Angebot offen")
    BOOKED = "booked", _("gebucht")
    EXPIRED = "expired", _("abgelaufen")


# on the list: waiting for an offer, or holding one
STANDBY_ON_THE_LIST = (StandbyStatus.WAITING, StandbyStatus.OFFERED)


class StandbyEntry(models.Model):
    """A person (their code set) on a district's standby list for a vaccine (R8, beyond
    the seeds). Offers go out in the order of `created_at`."""

    code_set = models.ForeignKey(
        CodeSet, on_delete=models.CASCADE, related_name="standby_entries", verbose_name=_("Satz")
    )
    district = models.ForeignKey(
        "regions.District", on_delete=models.PROTECT, related_name="+", verbose_name=_("Kreis")
    )
    vaccine = models.ForeignKey(
        "vaccines.Vaccine", on_delete=models.PROTECT, related_name="+", verbose_name=_("Impfstoff")
    )
    status = models.CharField(
        _("Status"), max_length=10, choices=StandbyStatus, default=StandbyStatus.WAITING
    )
    offers_made = models.PositiveSmallIntegerField(_("Angebote"), default=0)
    created_at = models.DateTimeField(_("eingetragen am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Eintrag auf der Warteliste")
        verbose_name_plural = _("Warteliste")
        ordering = ["created_at", "id"]
        constraints = [
            # One place in the queue per person.
            models.UniqueConstraint(
                fields=["code_set"],
                condition=Q(status__in=list(STANDBY_ON_THE_LIST)),
                name="standby_one_live_entry_per_person",
            ),
            models.CheckConstraint(
                condition=Q(status__in=StandbyStatus.values), name="standby_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["district", "vaccine", "status", "created_at"], name="standby_queue_idx"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_status_display()})"


class StandbyOfferStatus(models.TextChoices):
    OPEN = "open", _("offen")
    ACCEPTED = "accepted", _("angenommen")
    EXPIRED = "expired", _("abgelaufen")


class StandbyOffer(models.Model):
    """Free appointments offered to a person on the standby list, by a time-limited link.
    An open offer holds its first-dose seat back from other offers (not from bookings)."""

    entry = models.ForeignKey(
        StandbyEntry, on_delete=models.CASCADE, related_name="offers", verbose_name=_("Eintrag")
    )
    first_slot = models.ForeignKey(
        "booking.Slot", on_delete=models.PROTECT, related_name="+", verbose_name=_("1. Termin")
    )
    second_slot = models.ForeignKey(
        "booking.Slot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("2. Termin"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(
        _("Status"), max_length=10, choices=StandbyOfferStatus, default=StandbyOfferStatus.OPEN
    )
    expires_at = models.DateTimeField(_("gültig bis"))
    created_at = models.DateTimeField(_("angeboten am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Angebot von der Warteliste")
        verbose_name_plural = _("Angebote von der Warteliste")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=StandbyOfferStatus.values), name="standby_offer_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_status_display()})"
