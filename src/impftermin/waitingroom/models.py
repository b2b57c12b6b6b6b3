"""A virtual waiting room per region (issue 9): when it is on, visitors of the region's
booking pages and of the 2021 protocol get a numbered ticket and are let in first come,
first served, at the region's admission rate."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RoomMode(models.TextChoices):
    OFF = "off", _("aus")
    ON = "on", _("an")
    AUTO = "auto", _("automatisch bei Andrang")


class WaitingRoom(models.Model):
    """The operator's settings, and — with the database backend — the queue's state:
    tickets issued (`tail`), and the admission line (`head_base` admitted at `base_time`,
    rising by the rate since), so that a poll costs one row read, whatever the queue's
    length."""

    region = models.OneToOneField(
        "regions.Region",
        on_delete=models.CASCADE,
        related_name="waiting_room",
        verbose_name=_("Region"),
    )
    mode = models.CharField(_("Betrieb"), max_length=10, choices=RoomMode, default=RoomMode.AUTO)
    admissions_per_second = models.PositiveIntegerField(_("Einlass je Sekunde"), default=50)
    auto_arrivals_per_second = models.PositiveIntegerField(
        _("automatisch an ab Ankünften je Sekunde"), default=200
    )
    admission_minutes = models.PositiveSmallIntegerField(_("Einlass gültig (Minuten)"), default=20)
    # State of the database backend (Redis keeps its own).
    tail = models.BigIntegerField(default=0, editable=False)
    head_base = models.BigIntegerField(default=0, editable=False)
    base_time = models.FloatField(default=0, editable=False)
    # Auto mode: on until then, after arrivals beyond the threshold.
    crowded_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Warteraum")
        verbose_name_plural = _("Warteräume")
        constraints = [
            models.CheckConstraint(
                condition=Q(admissions_per_second__gte=1)
                & Q(auto_arrivals_per_second__gte=1)
                & Q(admission_minutes__gte=1),
                name="waiting_room_rates_positive",
            ),
            models.CheckConstraint(
                condition=Q(mode__in=RoomMode.values), name="waiting_room_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return str(self.region)
