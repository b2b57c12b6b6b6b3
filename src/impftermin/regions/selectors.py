import re

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError
from impftermin.regions.models import District, Region


def region_overview() -> QuerySet[Region]:
    return Region.objects.annotate(
        district_count=Count("districts", distinct=True),
        centre_count=Count("districts__centres", distinct=True),
    ).order_by("name")


def districts_for_postcode(*, region_id: int, postcode: object) -> list[District]:
    """The region's districts a postcode lies in (R12: the postcode places the person).
    A postcode of another region says which region is the right one."""
    if not isinstance(postcode, str) or not re.fullmatch(r"\d{5}", postcode.strip()):
        raise ServiceError(
            "postcode_invalid", _("Eine Postleitzahl hat genau 5 Ziffern."), field="postcode"
        )
    districts = list(
        District.objects.filter(postcodes__code=postcode.strip())
        .select_related("region")
        .order_by("name")
    )
    if not districts:
        raise ServiceError(
            "postcode_unknown",
            _("Diese Postleitzahl kennen wir nicht. Bitte prüfen Sie sie."),
            field="postcode",
        )
    here = [d for d in districts if d.region_id == region_id]
    if not here:
        raise ServiceError(
            "postcode_other_region",
            _("Diese Postleitzahl gehört zur Region %(region)s. Bitte buchen Sie dort."),
            field="postcode",
            region=districts[0].region.name,
        )
    return here
