from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ItsConfig(AppConfig):
    name = "impftermin.its"
    verbose_name = _("Schnittstelle im Protokoll von 2021")
