from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from impftermin.centres.models import Centre
from impftermin.vaccines.models import Vaccine


class Slot(models.Model):
    """Seats for one vaccine at one centre at one time.

    `booked` counts the appointments that hold a seat here; the database refuses any
    write that would take it above `capacity` or below zero, so no bug and no race can
    overbook a slot. Only the booking services change `booked`.
    """

    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="slots", verbose_name=_("Impfzentrum")
    )
    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.PROTECT, related_name="slots", verbose_name=_("Impfstoff")
    )
    start = models.DateTimeField(_("Beginn"))
    capacity = models.PositiveSmallIntegerField(_("Plätze"))
    booked = models.PositiveSmallIntegerField(_("gebucht"), default=0)
    released = models.BooleanField(_("zur Buchung freigegeben"), default=False)

    class Meta:
        verbose_name = _("Zeitfenster")
        # German has one word for both numbers; the context gives English its plural.
        verbose_name_plural = pgettext_lazy("plural", "Zeitfenster")
        ordering = ["start", "centre_id"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "vaccine", "start"], name="slot_unique_time"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="slot_capacity_positive"),
            models.CheckConstraint(
                condition=Q(booked__gte=0, booked__lte=F("capacity")), name="slot_never_overbooked"
            ),
        ]
        indexes = [
            # The free-slot search reads only slots with a free seat.
            models.Index(
                fields=["centre", "vaccine", "start"],
                condition=Q(booked__lt=F("capacity")),
                name="slot_free_by_centre_idx",
            ),
            models.Index(fields=["released", "start"], name="slot_release_idx"),
            models.Index(fields=["start"], name="slot_start_idx"),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.start)
        return f"{self.centre} · {self.vaccine.code} · {start:%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return self.capacity - self.booked


class Channel(models.TextChoices):
    ONLINE = "online", _("online")
    PHONE = "phone", _("Telefon")
    API = "api", _("Schnittstelle")
    ASSIGNMENT = "assignment", _("Zuweisung")
    CENTRE = "centre", _("im Impfzentrum")


class PairStatus(models.TextChoices):
    BOOKED = "booked", _("gebucht")
    CANCELLED = "cancelled", _("storniert")


class AppointmentPair(models.Model):
    """A person's dose-1 and dose-2 appointments (dose 2 absent for single-dose vaccines).

    `holder` names who the pair belongs to: a booking code's key or a registration. The
    database allows one live (booked) pair per holder.
    """

    holder = models.CharField(_("Inhaber"), max_length=80)
    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.PROTECT, related_name="+", verbose_name=_("Impfstoff")
    )
    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="pairs", verbose_name=_("Impfzentrum")
    )
    status = models.CharField(
        _("Status"), max_length=20, choices=PairStatus, default=PairStatus.BOOKED
    )
    channel = models.CharField(_("Kanal"), max_length=20, choices=Channel)
    # R6: the first appointment stands even when no second could be booked; the second is
    # then given at the centre on the day of the first.
    second_dose_at_centre = models.BooleanField(
        _("Zweittermin wird im Impfzentrum vergeben"), default=False
    )
    # Couples and households (R7) booked side by side share a party id.
    party = models.UUIDField(_("gemeinsame Buchung"), null=True, blank=True, db_index=True)
    replaced_by = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaces",
        verbose_name=_("umgebucht auf"),
    )
    created_at = models.DateTimeField(_("gebucht am"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("storniert am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Terminpaar")
        verbose_name_plural = _("Terminpaare")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["holder"],
                condition=Q(status=PairStatus.BOOKED),
                name="one_live_pair_per_holder",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PairStatus.values), name="pair_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=PairStatus.BOOKED, cancelled_at__isnull=True)
                | Q(status=PairStatus.CANCELLED, cancelled_at__isnull=False),
                name="pair_cancelled_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("gebucht")
    CANCELLED = "cancelled", _("storniert")
    CHECKED_IN = "checked_in", _("eingecheckt")
    VACCINATED = "vaccinated", _("geimpft")
    NO_SHOW = "no_show", _("nicht erschienen")


# Every status but "cancelled" holds a seat in its slot.
SEAT_HOLDING_STATUSES = [s for s in AppointmentStatus.values if s != AppointmentStatus.CANCELLED]


class Appointment(models.Model):
    pair = models.ForeignKey(
        AppointmentPair,
        on_delete=models.CASCADE,
        related_name="appointments",
        verbose_name=_("Terminpaar"),
    )
    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("Zeitfenster")
    )
    dose = models.PositiveSmallIntegerField(_("Impfung Nr."), choices=[(1, "1"), (2, "2")])
    status = models.CharField(
        _("Status"), max_length=20, choices=AppointmentStatus, default=AppointmentStatus.BOOKED
    )

    class Meta:
        verbose_name = _("Termin")
        verbose_name_plural = _("Termine")
        ordering = ["pair", "dose"]
        constraints = [
            models.UniqueConstraint(fields=["pair", "dose"], name="appointment_one_per_dose"),
            models.CheckConstraint(condition=Q(dose__in=[1, 2]), name="appointment_dose_1_or_2"),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="appointment_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["slot", "status"], name="appointment_slot_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_dose_display()}. {self.slot}"
