from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from impftermin.core.errors import ServiceError
from impftermin.demo import services


class Command(BaseCommand):
    help = _("Zeigt die Adressen und Demo-Zugänge der Entwicklungsumgebung.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help=_("Adresse, unter der der Server läuft (Standard: %(default)s)."),
        )

    def handle(self, *args, url: str, **options):
        try:
            services.ensure_not_production()
        except ServiceError as error:
            raise CommandError(error.message) from None
        base = url.rstrip("/")
        with translation.override("de"):
            start, admin = reverse("home"), reverse("admin:index")
        with translation.override("en"):
            english = reverse("home")
        links = [
            (_("Startseite"), start),
            (_("Verwaltung"), admin),
            (_("Englisch"), english),
            (_("Lebenszeichen"), reverse("healthz")),
            (_("Bereitschaft"), reverse("readyz")),
            (_("Schnittstelle (OpenAPI)"), reverse("api-v1:openapi-view")),
            (_("Schnittstelle von 2021"), reverse("its:centres")),
        ]
        width = max(len(str(label)) for label, _path in links) + 1
        self.stdout.write(self.style.SUCCESS(_("Impftermin (Entwicklung)")))
        for label, path in links:
            self.stdout.write(f"  {label + ':':<{width}} {base}{path}")
        self.stdout.write(_("Demo-Zugänge (nur für die Entwicklung):"))
        name_width = max(len(login.username) for login in services.DEMO_LOGINS)
        password_label = _("Passwort")  # outside the f-string, where xgettext finds it
        for login in services.DEMO_LOGINS:
            self.stdout.write(
                f"  {login.username:<{name_width}}  {password_label}: {login.password}"
                f"  ({login.description})"
            )
        self.stdout.write(
            _("Zweiter Faktor: nach dem Passwort fragt die Verwaltung nach einem Code (TOTP).")
        )
        code_label = _("aktueller Code")  # outside the f-strings, where xgettext finds them
        secret_label = _("Demo-Schlüssel für eine Authenticator-App")
        self.stdout.write(f"  {code_label}: .venv/bin/python manage.py demo_totp <user>")
        self.stdout.write(f"  {secret_label}: {services.demo_totp_secret()}")
