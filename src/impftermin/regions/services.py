"""Writing regions, districts and postcodes.

`reference_data_import` reads the official reference files (see ../shared/data/README.md)
from `settings.REFERENCE_DATA_DIR`; they are read in place, never copied into the project.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError
from impftermin.regions.models import Bundesland, District, DistrictKind, Postcode, Region

POPULATION_FILE = "kreise_bevoelkerung_2019.csv"
POSTCODE_FILE = "plz_gemeinde_kreis.csv"

# Destatis "typ" → our district kind.
KIND_BY_TYPE = {
    "Kreisfreie Stadt": DistrictKind.KREISFREIE_STADT,
    "Stadtkreis": DistrictKind.KREISFREIE_STADT,
    "Kreis": DistrictKind.KREIS,
    "Landkreis": DistrictKind.KREIS,
    "Regionalverband": DistrictKind.KREIS,
}

# Districts merged into another after the population table's Gebietsstand (31.12.2019),
# as the postcode file (boundaries of about 2022) already has them: old AGS → new AGS.
MERGED_DISTRICTS = {
    "16056": "16063",  # Eisenach joined the Wartburgkreis on 1 July 2021.
}

# Amtlicher Gemeindeschlüssel of each Land → ISO 3166-2:DE code (Region.bundesland).
BUNDESLAND_BY_LAND_AGS = {
    "01": Bundesland.SH,
    "02": Bundesland.HH,
    "03": Bundesland.NI,
    "04": Bundesland.HB,
    "05": Bundesland.NW,
    "06": Bundesland.HE,
    "07": Bundesland.RP,
    "08": Bundesland.BW,
    "09": Bundesland.BY,
    "10": Bundesland.SL,
    "11": Bundesland.BE,
    "12": Bundesland.BB,
    "13": Bundesland.MV,
    "14": Bundesland.SN,
    "15": Bundesland.ST,
    "16": Bundesland.TH,
}

_POPULATION_COLUMNS = {"ags", "typ", "name", "bevoelkerung", "land_ags", "regbez_ags"}
_POSTCODE_COLUMNS = {"plz", "kreis_ags"}


def _read_csv(path: Path, columns: set[str]) -> list[dict[str, str]]:
    """All rows as text (keys keep their leading zeros), or a clear error."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = columns - set(reader.fieldnames or [])
            if missing:
                raise ServiceError(
                    "reference_data_invalid",
                    _("In der Datei %(path)s fehlen die Spalten %(columns)s."),
                    field="data_dir",
                    path=str(path),
                    columns=", ".join(sorted(missing)),
                )
            return [{key: (value or "").strip() for key, value in row.items()} for row in reader]
    except (FileNotFoundError, NotADirectoryError):
        raise ServiceError(
            "reference_data_missing",
            _("Die Referenzdatei %(path)s fehlt."),
            field="data_dir",
            path=str(path),
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ServiceError(
            "reference_data_invalid",
            _("Die Referenzdatei %(path)s lässt sich nicht lesen (%(error)s)."),
            field="data_dir",
            path=str(path),
            error=str(exc),
        ) from None


def _invalid_row(path: Path, ags: str) -> ServiceError:
    return ServiceError(
        "reference_data_invalid",
        _("Die Referenzdatei %(path)s enthält eine ungültige Zeile: %(row)s"),
        field="data_dir",
        path=str(path),
        row=ags,
    )


def _district_rows(
    rows: list[dict[str, str]], land_ags: str, regierungsbezirke: list[str] | None, path: Path
) -> dict[str, dict[str, str | int]]:
    """The districts of one Land (or of some of its Regierungsbezirke): AGS → name, kind,
    population; merged districts folded into their successors."""
    in_land = [row for row in rows if row["land_ags"] == land_ags]
    if regierungsbezirke is not None:
        unknown = sorted(set(regierungsbezirke) - {row["regbez_ags"] for row in in_land})
        if unknown:
            raise ServiceError(
                "unknown_regierungsbezirk",
                _("Regierungsbezirk %(codes)s gibt es in diesem Land nicht."),
                field="regierungsbezirke",
                codes=", ".join(unknown),
            )
        in_land = [row for row in in_land if row["regbez_ags"] in regierungsbezirke]
    districts: dict[str, dict[str, str | int]] = {}
    for row in in_land:
        kind = KIND_BY_TYPE.get(row["typ"])
        if not re.fullmatch(r"\d{5}", row["ags"]) or kind is None:
            raise _invalid_row(path, row["ags"])
        try:
            population = int(row["bevoelkerung"])
        except ValueError:
            raise _invalid_row(path, row["ags"]) from None
        districts[row["ags"]] = {"name": row["name"], "kind": kind, "population": population}
    for old, new in MERGED_DISTRICTS.items():
        merged = districts.pop(old, None)
        if merged is not None and new in districts:
            districts[new]["population"] = int(districts[new]["population"]) + int(
                merged["population"]
            )
    if not districts:
        raise ServiceError(
            "no_districts",
            _("Für dieses Land gibt es keine Kreise in den Referenzdaten."),
            field="land_ags",
        )
    return districts


def _get_region(region_slug: str) -> Region:
    try:
        return Region.objects.get(slug=region_slug)
    except (Region.DoesNotExist, ValueError, TypeError):
        raise ServiceError(
            "unknown_region", _("Diese Region gibt es nicht."), field="region"
        ) from None


@transaction.atomic
def reference_data_import(
    *,
    region_slug: str,
    land_ags: str,
    regierungsbezirke: Iterable[str] | None = None,
    data_dir: Path | str | None = None,
) -> dict[str, int]:
    """Create or update the districts of one Land (optionally only some Regierungsbezirke,
    e.g. 055, 057 and 059 for Westfalen-Lippe) under an existing region, with their 2019
    populations, and every postcode of those districts linked to all its districts that
    exist here (a PLZ can span districts, even regions).

    Idempotent: a second import of the same files changes nothing. The links of the
    imported districts follow the file: links it no longer has are removed. Returns counts.
    """
    region = _get_region(region_slug)
    if not isinstance(land_ags, str) or land_ags not in BUNDESLAND_BY_LAND_AGS:
        raise ServiceError(
            "land_invalid",
            _("Der Landesschlüssel hat zwei Ziffern, 01 bis 16."),
            field="land_ags",
        )
    if BUNDESLAND_BY_LAND_AGS[land_ags] != region.bundesland:
        raise ServiceError(
            "land_not_in_region",
            _("Das Land %(land)s passt nicht zur Region %(region)s (%(bundesland)s)."),
            field="land_ags",
            land=land_ags,
            region=region.name,
            bundesland=region.get_bundesland_display(),
        )
    bezirke: list[str] | None = None
    if regierungsbezirke is not None:
        bezirke = sorted({code.strip() for code in regierungsbezirke if code.strip()})
        if not bezirke or any(
            not re.fullmatch(r"\d{3}", code) or not code.startswith(land_ags) for code in bezirke
        ):
            raise ServiceError(
                "regierungsbezirk_invalid",
                _("Ein Regierungsbezirk hat drei Ziffern und beginnt mit dem Landesschlüssel."),
                field="regierungsbezirke",
            )

    directory = Path(data_dir) if data_dir is not None else Path(settings.REFERENCE_DATA_DIR)
    population_path = directory / POPULATION_FILE
    postcode_path = directory / POSTCODE_FILE
    population_rows = _read_csv(population_path, _POPULATION_COLUMNS)
    postcode_rows = _read_csv(postcode_path, _POSTCODE_COLUMNS)
    wanted = _district_rows(population_rows, land_ags, bezirke, population_path)

    counts = dict.fromkeys(
        (
            "districts_created",
            "districts_updated",
            "postcodes_created",
            "postcode_links_added",
            "postcode_links_removed",
        ),
        0,
    )

    # Districts, by AGS.
    existing = {d.ags: d for d in District.objects.filter(ags__in=wanted)}
    elsewhere = sorted(d.name for d in existing.values() if d.region_id != region.pk)
    if elsewhere:
        raise ServiceError(
            "district_in_other_region",
            _("Der Kreis %(district)s gehört schon zu einer anderen Region."),
            field="region",
            district=", ".join(elsewhere),
        )
    new_districts, changed = [], []
    for ags, values in wanted.items():
        district = existing.get(ags)
        if district is None:
            new_districts.append(District(ags=ags, region=region, **values))
            continue
        if any(getattr(district, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(district, name, value)
            changed.append(district)
    District.objects.bulk_create(new_districts)
    District.objects.bulk_update(changed, ["name", "kind", "population"])
    counts["districts_created"] = len(new_districts)
    counts["districts_updated"] = len(changed)

    # Postcodes: every PLZ of the imported districts, with all its districts known here.
    districts_of: dict[str, set[str]] = defaultdict(set)
    for row in postcode_rows:
        ags = MERGED_DISTRICTS.get(row["kreis_ags"], row["kreis_ags"])
        districts_of[row["plz"]].add(ags)
    codes = sorted(code for code, kreise in districts_of.items() if kreise & wanted.keys())
    bad = [code for code in codes if not re.fullmatch(r"\d{5}", code)]
    if bad:
        raise ServiceError(
            "reference_data_invalid",
            _("Die Referenzdatei %(path)s enthält eine ungültige Zeile: %(row)s"),
            field="data_dir",
            path=str(postcode_path),
            row=bad[0],
        )
    district_ids = dict(
        District.objects.filter(
            ags__in={ags for code in codes for ags in districts_of[code]}
        ).values_list("ags", "pk")
    )
    imported_ids = {district_ids[ags] for ags in wanted}

    postcode_ids = dict(Postcode.objects.filter(code__in=codes).values_list("code", "pk"))
    new_postcodes = [Postcode(code=code) for code in codes if code not in postcode_ids]
    if new_postcodes:
        Postcode.objects.bulk_create(new_postcodes)
        postcode_ids = dict(Postcode.objects.filter(code__in=codes).values_list("code", "pk"))
    counts["postcodes_created"] = len(new_postcodes)

    wanted_links = {
        (postcode_ids[code], district_ids[ags])
        for code in codes
        for ags in districts_of[code]
        if ags in district_ids
    }
    link = Postcode.districts.through
    current = {
        (postcode_id, district_id): pk
        for pk, postcode_id, district_id in link.objects.filter(
            district_id__in=imported_ids
        ).values_list("pk", "postcode_id", "district_id")
    }
    current |= {
        (postcode_id, district_id): pk
        for pk, postcode_id, district_id in link.objects.filter(
            postcode_id__in=postcode_ids.values()
        ).values_list("pk", "postcode_id", "district_id")
    }
    stale = [
        pk
        for (postcode_id, district_id), pk in current.items()
        if district_id in imported_ids and (postcode_id, district_id) not in wanted_links
    ]
    link.objects.filter(pk__in=stale).delete()
    missing = [
        link(postcode_id=postcode_id, district_id=district_id)
        for postcode_id, district_id in sorted(wanted_links - current.keys())
    ]
    link.objects.bulk_create(missing, batch_size=1000)
    counts["postcode_links_added"] = len(missing)
    counts["postcode_links_removed"] = len(stale)

    counts["districts"] = len(wanted)
    counts["population"] = sum(int(values["population"]) for values in wanted.values())
    counts["postcodes"] = len(codes)
    return counts
