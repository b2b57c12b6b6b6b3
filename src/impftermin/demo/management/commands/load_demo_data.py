from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from impftermin.core.errors import ServiceError
from impftermin.demo import services


class Command(BaseCommand):
    help = _(
        "Lädt die Demodaten (Westfalen-Lippe, Hessen, Impfstoffe, Impfzentren, Termine, "
        "Demo-Zugänge) oder ergänzt sie. Nur für die Entwicklung."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--weeks",
            type=int,
            default=services.DEFAULT_WEEKS,
            help=_("Termine ab heute für so viele Wochen anlegen (Standard: %(default)s)."),
        )

    def handle(self, *args, weeks: int, **options):
        try:
            result = services.demo_data_load(weeks=weeks)
        except ServiceError as error:
            raise CommandError(error.message) from None
        totals = result.totals
        created = sum(result.created.values())
        updated = sum(result.updated.values())
        self.stdout.write(
            _(
                "Demodaten: %(regions)d Regionen, %(districts)d Kreise, %(postcodes)d "
                "Postleitzahlen, %(centres)d Impfzentren, %(vaccines)d Impfstoffe."
            )
            % {
                "regions": totals["region"],
                "districts": totals["district"],
                "postcodes": totals["postcode"],
                "centres": totals["centre"],
                "vaccines": totals["vaccine"],
            }
        )
        self.stdout.write(
            _(
                "Zeitfenster: %(slots)d (neu: %(new)d), davon freigegeben: %(released)d "
                "(neu freigegeben: %(new_released)d)."
            )
            % {
                "slots": totals["slot"],
                "new": result.slots_created,
                "released": totals["slot_released"],
                "new_released": result.slots_released,
            }
        )
        self.stdout.write(
            self.style.SUCCESS(
                _("Fertig: %(created)d Einträge angelegt, %(updated)d aktualisiert.")
                % {"created": created, "updated": updated}
            )
        )
