from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """Staff accounts: roles (auth groups), the second factor, inactivity expiry."""

    default = True
    name = "impftermin.staff"
    verbose_name = _("Mitarbeitende")


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin with our site as `admin.site`: every admin page needs a verified
    second factor (see sites.py). Listed in INSTALLED_APPS instead of django.contrib.admin."""

    default = False
    default_site = "impftermin.staff.sites.StaffAdminSite"
