"""Importing districts, populations and postcodes from the official reference files in
settings.REFERENCE_DATA_DIR (../shared/data), read in place."""

import csv
import io
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Sum

from impftermin.core.errors import ServiceError
from impftermin.regions.models import District, DistrictKind, Postcode
from impftermin.regions.services import (
    POPULATION_FILE,
    POSTCODE_FILE,
    reference_data_import,
)
from tests.conftest import CI
from tests.factories import make_centre, make_district, make_region

pytestmark = pytest.mark.django_db

WESTFALEN_LIPPE = ["055", "057", "059"]  # Reg.-Bez. Münster, Detmold, Arnsberg


@pytest.fixture
def reference_dir() -> Path:
    """The real reference files. Like PostgreSQL: missing under CI is a failure."""
    directory = Path(settings.REFERENCE_DATA_DIR)
    if not (directory / POPULATION_FILE).is_file() or not (directory / POSTCODE_FILE).is_file():
        message = f"needs the reference data in {directory} (REFERENCE_DATA_DIR)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    return directory


@pytest.fixture
def westfalen_lippe():
    return make_region(slug="westfalen-lippe", name="Westfalen-Lippe", bundesland="NW")


@pytest.fixture
def hessen():
    return make_region(slug="hessen", name="Hessen", bundesland="HE", booking_mode="assignment")


def postcode_map(*, districts=None) -> dict[str, set[str]]:
    links = Postcode.districts.through.objects.all()
    if districts is not None:
        links = links.filter(district__in=districts)
    mapping = defaultdict(set)
    for code, ags in links.values_list("postcode__code", "district__ags"):
        mapping[code].add(ags)
    return dict(mapping)


def file_postcodes(directory: Path, land_ags: str) -> dict[str, set[str]]:
    """PLZ → Kreise as the file has them, for every PLZ with a Kreis in the Land."""
    with (directory / POSTCODE_FILE).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kreise = defaultdict(set)
    for row in rows:
        kreise[row["plz"]].add(row["kreis_ags"])
    return {code: ags for code, ags in kreise.items() if any(a.startswith(land_ags) for a in ags)}


def snapshot():
    return (
        sorted(District.objects.values_list("pk", "ags", "name", "kind", "population")),
        sorted(Postcode.objects.values_list("pk", "code")),
        sorted(Postcode.districts.through.objects.values_list("pk", "postcode_id", "district_id")),
    )


def test_R9_westfalen_lippe_from_regierungsbezirke_055_057_059_has_27_districts_with_2019_populations(
    reference_dir, westfalen_lippe
):
    counts = reference_data_import(
        region_slug="westfalen-lippe", land_ags="05", regierungsbezirke=WESTFALEN_LIPPE
    )

    districts = District.objects.filter(region=westfalen_lippe)
    assert districts.count() == counts["districts"] == counts["districts_created"] == 27
    assert districts.aggregate(total=Sum("population"))["total"] == 8_260_917
    assert counts["population"] == 8_260_917
    assert districts.filter(kind=DistrictKind.KREISFREIE_STADT).count() == 9
    assert districts.filter(kind=DistrictKind.KREIS).count() == 18
    bochum = districts.get(ags="05911")
    assert (bochum.name, bochum.kind, bochum.population) == (
        "Bochum, Stadt",
        DistrictKind.KREISFREIE_STADT,
        365_587,
    )
    # Keys are text: leading zeros kept.
    assert districts.filter(ags__startswith="05").count() == 27
    # Every PLZ of these districts, as many as the file has.
    assert (
        Postcode.objects.filter(districts__region=westfalen_lippe).distinct().count()
        == (counts["postcodes"])
    )
    assert Postcode.objects.filter(code="48143").exists()  # Münster


def test_R12_a_postcode_spanning_two_kreise_maps_to_both(reference_dir, hessen):
    reference_data_import(region_slug="hessen", land_ags="06", data_dir=reference_dir)

    assert postcode_map()["34127"] == {"06611", "06633"}  # Kassel city and Landkreis Kassel
    assert postcode_map()["64395"] == {"06432", "06437"}  # Darmstadt-Dieburg, Odenwaldkreis
    # Every PLZ with a Hessian Kreis maps to all its Hessian Kreise, as in the file.
    expected = {
        code: {a for a in ags if a.startswith("06")}
        for code, ags in file_postcodes(reference_dir, "06").items()
    }
    assert postcode_map() == expected


def test_R12_a_postcode_spanning_two_regions_maps_to_districts_in_both(
    reference_dir, westfalen_lippe, hessen
):
    reference_data_import(region_slug="hessen", land_ags="06")
    assert postcode_map()["59969"] == {"06635"}  # Hochsauerlandkreis not imported yet

    reference_data_import(
        region_slug="westfalen-lippe", land_ags="05", regierungsbezirke=WESTFALEN_LIPPE
    )

    # Hallenberg area: Hochsauerlandkreis (Westfalen-Lippe) and Waldeck-Frankenberg (Hessen).
    assert postcode_map()["59969"] == {"05958", "06635"}


def test_reimporting_the_same_files_changes_nothing(reference_dir, westfalen_lippe):
    reference_data_import(
        region_slug="westfalen-lippe", land_ags="05", regierungsbezirke=WESTFALEN_LIPPE
    )
    before = snapshot()

    counts = reference_data_import(
        region_slug="westfalen-lippe", land_ags="05", regierungsbezirke=WESTFALEN_LIPPE
    )

    assert snapshot() == before
    assert counts["districts_created"] == counts["districts_updated"] == 0
    assert counts["postcodes_created"] == 0
    assert counts["postcode_links_added"] == counts["postcode_links_removed"] == 0


def test_an_import_updates_districts_and_keeps_their_centres_and_other_regions_links(
    reference_dir, westfalen_lippe
):
    muenster = make_district(
        westfalen_lippe, ags="05515", name="Münster", kind=DistrictKind.KREIS, population=1
    )
    centre = make_centre(muenster)
    stray = Postcode.objects.create(code="99999")
    stray.districts.add(muenster)

    counts = reference_data_import(
        region_slug="westfalen-lippe", land_ags="05", regierungsbezirke=WESTFALEN_LIPPE
    )

    muenster.refresh_from_db()
    assert (muenster.name, muenster.kind, muenster.population) == (
        "Münster, Stadt",
        DistrictKind.KREISFREIE_STADT,
        315_293,
    )
    assert counts["districts_updated"] == 1 and counts["districts_created"] == 26
    assert centre.district_id == muenster.pk
    # A link the file does not have is removed from the imported district.
    assert not stray.districts.exists()
    assert counts["postcode_links_removed"] == 1


def test_thueringen_folds_eisenach_into_the_wartburgkreis(reference_dir):
    make_region(slug="thueringen", name="Thüringen", bundesland="TH")

    counts = reference_data_import(region_slug="thueringen", land_ags="16")

    assert counts["districts"] == 22  # 23 Kreise of 2019 less Eisenach
    assert not District.objects.filter(ags="16056").exists()
    assert District.objects.get(ags="16063").population == 118_974 + 42_250
    assert counts["population"] == District.objects.aggregate(total=Sum("population"))["total"]
    # Eisenach's postcode lies in the Wartburgkreis.
    assert "16063" in postcode_map()["99817"]


def test_an_unknown_region_is_a_service_error(reference_dir):
    with pytest.raises(ServiceError) as error:
        reference_data_import(region_slug="nirgendwo", land_ags="05")
    assert error.value.code == "unknown_region"


def test_a_missing_data_dir_is_a_service_error_and_imports_nothing(tmp_path, westfalen_lippe):
    with pytest.raises(ServiceError) as error:
        reference_data_import(
            region_slug="westfalen-lippe", land_ags="05", data_dir=tmp_path / "missing"
        )
    assert error.value.code == "reference_data_missing"
    assert POPULATION_FILE in error.value.message
    assert not District.objects.exists()


def test_a_land_that_does_not_fit_the_region_is_refused(reference_dir, westfalen_lippe):
    with pytest.raises(ServiceError) as error:
        reference_data_import(region_slug="westfalen-lippe", land_ags="06")
    assert error.value.code == "land_not_in_region"
    with pytest.raises(ServiceError) as error:
        reference_data_import(region_slug="westfalen-lippe", land_ags="5")
    assert error.value.code == "land_invalid"


def test_an_unknown_regierungsbezirk_is_refused(reference_dir, westfalen_lippe):
    with pytest.raises(ServiceError) as error:
        reference_data_import(
            region_slug="westfalen-lippe", land_ags="05", regierungsbezirke=["055", "058"]
        )
    assert error.value.code == "unknown_regierungsbezirk"
    assert "058" in error.value.message
    assert not District.objects.exists()


def test_a_district_of_another_region_is_not_moved(reference_dir, westfalen_lippe):
    other = make_region(slug="nordrhein", name="Nordrhein", bundesland="NW")
    make_district(other, ags="05911", name="Bochum")

    with pytest.raises(ServiceError) as error:
        reference_data_import(
            region_slug="westfalen-lippe", land_ags="05", regierungsbezirke=WESTFALEN_LIPPE
        )
    assert error.value.code == "district_in_other_region"
    assert District.objects.count() == 1


def test_the_whole_import_is_one_transaction(tmp_path, westfalen_lippe):
    (tmp_path / POPULATION_FILE).write_text(
        "ags,typ,name,bevoelkerung,land_ags,regbez_ags\n"
        "05111,Kreisfreie Stadt,Testhausen,1000,05,051\n",
        encoding="utf-8",
    )
    (tmp_path / POSTCODE_FILE).write_text(
        "plz,kreis_ags\n40210,05111\n4021,05111\n", encoding="utf-8"
    )

    with pytest.raises(ServiceError) as error:
        reference_data_import(region_slug="westfalen-lippe", land_ags="05", data_dir=tmp_path)

    assert error.value.code == "reference_data_invalid"
    assert not District.objects.exists()  # created before the bad row, rolled back
    assert not Postcode.objects.exists()


def test_the_command_imports_and_prints_the_counts(reference_dir, westfalen_lippe):
    output = io.StringIO()

    call_command(
        "import_reference_data",
        "--region",
        "westfalen-lippe",
        "--land",
        "05",
        "--regierungsbezirke",
        "055,057,059",
        stdout=output,
    )

    assert "27 Kreise (8260917 Einwohner" in output.getvalue()
    with pytest.raises(CommandError, match="Region"):
        call_command("import_reference_data", "--region", "nirgendwo", "--land", "05")
