from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaccinationsConfig(AppConfig):
    name = "impftermin.vaccinations"
    verbose_name = _("Impfungen")
