from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitingRoomConfig(AppConfig):
    name = "impftermin.waitingroom"
    verbose_name = _("Virtueller Warteraum")
