"""Staff accounts are Django's users; their second factor is django-otp's TOTPDevice. This
app's only model carries the permissions of staff work that belongs to no one table."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffWork(models.Model):
    """No table and no rows: a holder for permissions (Django needs a content type).
    The roles in roles.py grant them."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("use_console", "Call-Center-Konsole nutzen: buchen, nachschlagen, umbuchen"),
            ("view_call_statistics", "Anrufstatistik der Agenten ansehen"),
        ]
        verbose_name = _("Mitarbeitertätigkeit")
        verbose_name_plural = _("Mitarbeitertätigkeiten")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
