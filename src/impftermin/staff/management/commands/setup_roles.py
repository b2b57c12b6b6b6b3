from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from impftermin.core.errors import ServiceError
from impftermin.staff.roles import ROLES
from impftermin.staff.services import roles_setup


class Command(BaseCommand):
    help = _(
        "Legt die Rollen der Mitarbeitenden (Agent, Supervisor, Impfzentrum, Betrieb) als "
        "Gruppen mit genau ihren Berechtigungen an oder korrigiert sie. Nach jedem migrate."
    )

    def handle(self, *args, **options):
        try:
            result = roles_setup()
        except ServiceError as error:
            raise CommandError(error.message) from None
        if options["verbosity"] < 1:
            return
        for role in ROLES:
            count = len(role.permissions)
            self.stdout.write(
                ngettext(
                    "Rolle %(label)s: Gruppe „%(group)s“, %(count)d Berechtigung",
                    "Rolle %(label)s: Gruppe „%(group)s“, %(count)d Berechtigungen",
                    count,
                )
                % {"label": role.label, "group": role.group, "count": count}
            )
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Rollen eingerichtet: %(groups)d Gruppen neu, %(added)d Berechtigungen "
                    "vergeben, %(removed)d entzogen."
                )
                % {
                    "groups": len(result.groups_created),
                    "added": result.permissions_added,
                    "removed": result.permissions_removed,
                }
            )
        )
        for name in result.created_ahead:
            self.stdout.write(
                _("Berechtigung %(permission)s vorab angelegt (die App fehlt noch).")
                % {"permission": name}
            )
