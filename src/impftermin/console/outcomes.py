"""What an agent's change did, in one word: the `detail` of the audit entry that every
change on a call writes, and the columns of the call statistics (issue 6 item 6). The
values are stable English words; the labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CallOutcome(models.TextChoices):
    BOOKED = "booked", _("Buchungen")
    REGISTERED = "registered", _("Registrierungen")
    REBOOKED = "rebooked", _("Umbuchungen")
    CANCELLED = "cancelled", _("Stornierungen")
    DELETED = "deleted", _("Löschungen")
    COUPLED = "coupled", _("Paare verbunden")
    UNCOUPLED = "uncoupled", _("Paare getrennt")
