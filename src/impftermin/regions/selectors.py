import re

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError
from impftermin.core.validation import as_id
from impftermin.regions.models import District, Region


def region_overview() -> QuerySet[Region]:
    return Region.objects.annotate(
        district_count=Count("districts", distinct=True),
        centre_count=Count("districts__centres", distinct=True),
    ).order_by("name")


def postcode_districts(*, postcode: object) -> list[District]:
    """All districts a postcode lies in, in any region (R12: the postcode places the
    person); a postcode may span districts and even regions."""
    if not isinstance(postcode, str) or not re.fullmatch(r"[0-9]{5}", postcode.strip()):
        raise ServiceError(
            "postcode_invalid", _("Eine Postleitzahl hat genau 5 Ziffern."), field="postcode"
        )
    districts = list(
        District.objects.filter(postcodes__code=postcode.strip())
        .select_related("region")
        .order_by("region__name", "name")
    )
    if not districts:
        raise ServiceError(
            "postcode_unknown",
            _("Diese Postleitzahl kennen wir nicht. Bitte prüfen Sie sie."),
            field="postcode",
        )
    return districts


def districts_for_postcode(*, region_id: int, postcode: object) -> list[District]:
    """The region's districts a postcode lies in. A postcode of another region says which
    region is the right one."""
    districts = postcode_districts(postcode=postcode)
    here = [d for d in districts if d.region_id == region_id]
    if not here:
        raise ServiceError(
            "postcode_other_region",
            _("Diese Postleitzahl gehört zur Region %(region)s. Bitte buchen Sie dort."),
            field="postcode",
            region=districts[0].region.name,
        )
    return here


def get_region(*, slug: object) -> Region:
    if not isinstance(slug, str) or len(slug) > 50:
        raise ServiceError("unknown_region", _("Diese Region gibt es nicht."), field="region")
    region = Region.objects.filter(slug=slug).first()
    if region is None:
        raise ServiceError("unknown_region", _("Diese Region gibt es nicht."), field="region")
    return region


def region_districts(*, region_id: int) -> list[District]:
    return list(District.objects.filter(region_id=region_id).order_by("name"))


def get_region_by_id(*, region_id: int) -> Region:
    return Region.objects.get(pk=region_id)


def lock_district(*, district_id: int) -> District:
    """Inside a transaction: the district's row, locked to its end, so that work on one
    district's queue (the standby list) runs one at a time."""
    return District.objects.select_for_update().get(pk=district_id)


def get_region_in_mode(*, region_id: object, mode: str, refusal) -> Region:
    """A region that books the way a channel needs (codes or assignment); `refusal` says
    why not for any other."""
    pk = as_id(
        region_id, code="unknown_region", message=_("Diese Region gibt es nicht."), field="region"
    )
    region = Region.objects.filter(pk=pk, booking_mode=mode).first()
    if region is None:
        raise ServiceError("unknown_region", refusal, field="region")
    return region
