from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from impftermin.core.errors import ServiceError
from impftermin.demo import services
from impftermin.staff.selectors import code_now


class Command(BaseCommand):
    help = _(
        "Zeigt den aktuellen Code des zweiten Faktors eines Demo-Zugangs (statt einer "
        "Authenticator-App). Nur für die Entwicklung."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help=_("Benutzername, z. B. operator"))

    def handle(self, *args, username: str, **options):
        try:
            services.ensure_not_production()
        except ServiceError as error:
            raise CommandError(error.message) from None
        device = (
            TOTPDevice.objects.filter(user__username=username, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise CommandError(
                _("%(username)s hat keinen eingerichteten zweiten Faktor.") % {"username": username}
            )
        code, seconds = code_now(device)
        self.stdout.write(code)
        self.stderr.write(
            _("gilt noch %(seconds)d Sekunden, jeder Code nur einmal") % {"seconds": seconds}
        )
