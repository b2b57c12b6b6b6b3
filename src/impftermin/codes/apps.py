from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CodesConfig(AppConfig):
    name = "impftermin.codes"
    verbose_name = _("SMS-PIN und Vermittlungscodes")
