from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from impftermin.core.errors import ServiceError
from impftermin.regions.services import reference_data_import


class Command(BaseCommand):
    help = _(
        "Importiert die Kreise (Einwohner 2019) und Postleitzahlen eines Landes aus den "
        "Referenzdaten in eine bestehende Region."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help=_("Kurzname der Region"))
        parser.add_argument("--land", required=True, help=_("Landesschlüssel, z. B. 05"))
        parser.add_argument(
            "--regierungsbezirke",
            help=_("nur diese Regierungsbezirke, z. B. 055,057,059 für Westfalen-Lippe"),
        )
        parser.add_argument(
            "--data-dir", help=_("Ordner der Referenzdaten (Standard: REFERENCE_DATA_DIR)")
        )

    def handle(self, *args, region, land, regierungsbezirke, data_dir, **options):
        try:
            counts = reference_data_import(
                region_slug=region,
                land_ags=land,
                regierungsbezirke=regierungsbezirke.split(",") if regierungsbezirke else None,
                data_dir=data_dir,
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            _(
                "%(districts)d Kreise (%(population)d Einwohner; neu: %(created)d, "
                "geändert: %(updated)d), %(postcodes)d Postleitzahlen (neu: "
                "%(postcodes_created)d; Zuordnungen neu: %(added)d, entfernt: %(removed)d)."
            )
            % {
                "districts": counts["districts"],
                "population": counts["population"],
                "created": counts["districts_created"],
                "updated": counts["districts_updated"],
                "postcodes": counts["postcodes"],
                "postcodes_created": counts["postcodes_created"],
                "added": counts["postcode_links_added"],
                "removed": counts["postcode_links_removed"],
            }
        )
