from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationsConfig(AppConfig):
    name = "impftermin.registrations"
    verbose_name = _("Registrierung und Zuweisung")
