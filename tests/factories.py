"""Test data builders. Each returns saved objects with sensible defaults."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from django.utils import timezone

from impftermin.booking.models import Slot
from impftermin.centres.models import Centre, CentreCapacity, OpeningHours
from impftermin.regions.models import BookingMode, District, DistrictKind, Postcode, Region
from impftermin.vaccines.models import Vaccine

_sequence = itertools.count(1)


def make_region(**fields) -> Region:
    n = next(_sequence)
    defaults = {
        "slug": f"region-{n}",
        "name": f"Region {n}",
        "booking_mode": BookingMode.CODES,
        "bundesland": "NW",
        "hotline": "116117",
    }
    return Region.objects.create(**(defaults | fields))


def make_district(region: Region | None = None, **fields) -> District:
    n = next(_sequence)
    defaults = {
        "ags": f"{n % 100000:05d}",
        "name": f"Kreis {n}",
        "kind": DistrictKind.KREIS,
        "population": 100_000,
        "region": region or make_region(),
    }
    return District.objects.create(**(defaults | fields))


def make_postcode(code: str, *districts: District) -> Postcode:
    postcode, _ = Postcode.objects.get_or_create(code=code)
    postcode.districts.add(*districts)
    return postcode


def make_centre(district: District | None = None, **fields) -> Centre:
    n = next(_sequence)
    defaults = {
        "district": district or make_district(),
        "name": f"Impfzentrum {n}",
        "street": "Hauptstraße 1",
        "postcode": "48143",
        "city": "Münster",
    }
    return Centre.objects.create(**(defaults | fields))


VACCINES = {
    "L920": {
        "name": "Comirnaty (BioNTech/Pfizer)",
        "doses": 2,
        "min_interval_days": 21,
        "max_interval_days": 42,
        "min_age": 12,
    },
    "L921": {
        "name": "Spikevax (Moderna)",
        "doses": 2,
        "min_interval_days": 28,
        "max_interval_days": 42,
        "min_age": 18,
    },
    "L922": {
        "name": "Vaxzevria (AstraZeneca)",
        "doses": 2,
        "min_interval_days": 28,
        "max_interval_days": 84,
        "min_age": 18,
    },
    "L923": {
        "name": "COVID-19 Vaccine Janssen",
        "doses": 1,
        "min_interval_days": None,
        "max_interval_days": None,
        "min_age": 18,
    },
}


def make_vaccine(code: str = "L920", **fields) -> Vaccine:
    vaccine, _ = Vaccine.objects.get_or_create(code=code, defaults=VACCINES[code] | fields)
    return vaccine


def make_slot(
    centre: Centre,
    vaccine: Vaccine,
    start: dt.datetime,
    *,
    capacity: int = 2,
    booked: int = 0,
    released: bool = True,
) -> Slot:
    return Slot.objects.create(
        centre=centre,
        vaccine=vaccine,
        start=start,
        capacity=capacity,
        booked=booked,
        released=released,
    )


def at(days: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A local time `days` from today (Europe/Berlin)."""
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_default_timezone())


@dataclass
class World:
    region: Region
    district: District
    centre: Centre
    biontech: Vaccine
    janssen: Vaccine
    other_district: District
    other_centre: Centre


def make_world() -> World:
    region = make_region(name="Westfalen-Lippe Test", slug="wl-test")
    district = make_district(
        region, name="Münster", kind=DistrictKind.KREISFREIE_STADT, population=315_293
    )
    centre = make_centre(district, name="Impfzentrum Münster")
    other_district = make_district(region, name="Kreis Steinfurt", population=448_061)
    other_centre = make_centre(other_district, name="Impfzentrum Steinfurt")
    biontech = make_vaccine("L920")
    janssen = make_vaccine("L923")
    for c in (centre, other_centre):
        for weekday in range(7):
            OpeningHours.objects.create(
                centre=c, weekday=weekday, opens=dt.time(8), closes=dt.time(20)
            )
        CentreCapacity.objects.create(centre=c, vaccine=biontech, slot_minutes=5, seats_per_slot=3)
    return World(region, district, centre, biontech, janssen, other_district, other_centre)


def make_delivery(region: Region, vaccine: Vaccine, doses: int, districts=None):
    """Doses of a vaccine for the region, split to its districts (or only `districts`)."""
    from impftermin.vaccines.services import delivery_record

    return delivery_record(
        region_id=region.pk,
        vaccine_id=vaccine.pk,
        doses=doses,
        delivered_on=timezone.localdate(),
        district_ids=[d.pk for d in districts] if districts else None,
    )
