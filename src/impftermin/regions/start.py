"""The first step of every citizen flow (codes and registration alike): the region the
person came from, if any, and the postcode that places them (R12)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from impftermin.core.errors import ServiceError
from impftermin.regions.forms import DistrictForm
from impftermin.regions.models import District, Region
from impftermin.regions.selectors import districts_for_postcode, get_region, postcode_districts


def region_asked(request: HttpRequest) -> Region | None:
    """The region chosen on the home page (`?region=<slug>`), or None."""
    slug = request.POST.get("region") or request.GET.get("region")
    if not slug:
        return None
    try:
        return get_region(slug=slug)
    except ServiceError:
        return None


@dataclass(frozen=True)
class Place:
    districts: list[District]
    regions: list[Region]  # more than one: the postcode spans a border, the person chooses

    @property
    def region(self) -> Region | None:
        return self.regions[0] if len(self.regions) == 1 else None


def postcode_place(*, postcode: str, region: Region | None) -> Place:
    """The districts (and their regions) of a postcode, within `region` if one was chosen;
    ServiceError for a malformed or unknown postcode, or one of another region."""
    if region is not None:
        districts = districts_for_postcode(region_id=region.pk, postcode=postcode)
    else:
        districts = postcode_districts(postcode=postcode)
    return Place(districts, list({d.region_id: d.region for d in districts}.values()))


def district_chosen(
    request: HttpRequest, districts: list[District]
) -> tuple[District | None, DistrictForm | None]:
    """The only district, or the one the person picked among several; while they have
    not, None and the form to show."""
    if len(districts) == 1:
        return districts[0], None
    form = DistrictForm(request.POST if "district" in request.POST else None, districts=districts)
    if form.is_bound and form.is_valid():
        return next(d for d in districts if d.pk == form.cleaned_data["district"]), None
    return None, form
