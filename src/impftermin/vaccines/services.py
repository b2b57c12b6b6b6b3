import datetime as dt
from collections.abc import Hashable, Mapping
from typing import TypeVar

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from impftermin.centres.selectors import get_vaccine
from impftermin.core.errors import ServiceError
from impftermin.regions.models import District, Region
from impftermin.vaccines.models import Delivery, DistrictAllocation

K = TypeVar("K", bound=Hashable)


def allocate_largest_remainder(total: int, weights: Mapping[K, int]) -> dict[K, int]:
    """Split `total` in proportion to `weights` (Hare / largest-remainder method).

    Each part gets the whole-number share of its quota, and the doses left over go one each
    to the largest remainders (ties: larger weight, then key order), so the parts sum to
    `total` exactly and each differs from its exact quota by less than one.
    """
    if total < 0:
        raise ValueError("total must not be negative")
    weight_sum = sum(weights.values())
    if weight_sum <= 0 or any(w < 0 for w in weights.values()):
        raise ValueError("weights must be non-negative with a positive sum")
    parts: dict[K, int] = {}
    remainders: list[tuple[int, int, int, K]] = []
    for index, (key, weight) in enumerate(weights.items()):
        share, remainder = divmod(total * weight, weight_sum)  # exact integer arithmetic
        parts[key] = share
        remainders.append((-remainder, -weight, index, key))
    for *_order, key in sorted(remainders)[: total - sum(parts.values())]:
        parts[key] += 1
    return parts


@transaction.atomic
def delivery_record(
    *,
    region_id: int,
    vaccine_id: int,
    doses: int,
    delivered_on: dt.date,
    district_ids: list[int] | None = None,
) -> Delivery:
    """Record a delivery for a region and allocate it to its districts by population (R9).
    With `district_ids`, only those districts (all of this region) share the delivery."""
    try:
        region = Region.objects.get(pk=region_id)
    except (Region.DoesNotExist, ValueError, TypeError):
        raise ServiceError(
            "unknown_region", _("Diese Region gibt es nicht."), field="region"
        ) from None
    vaccine = get_vaccine(vaccine_id)
    if not isinstance(doses, int) or doses <= 0:
        raise ServiceError(
            "doses_not_positive",
            _("Die Zahl der Impfdosen muss größer als null sein."),
            field="doses",
        )
    districts = list(District.objects.filter(region=region).order_by("ags"))
    if district_ids is not None:
        wanted = set(district_ids)
        others = District.objects.filter(pk__in=wanted).exclude(region=region)
        if others.exists():
            raise ServiceError(
                "district_not_in_region",
                _("Der Kreis %(district)s gehört nicht zu dieser Region."),
                field="district_ids",
                district=others.first().name,
            )
        districts = [d for d in districts if d.pk in wanted]
        if len(districts) != len(wanted):
            raise ServiceError(
                "unknown_district", _("Diesen Kreis gibt es nicht."), field="district_ids"
            )
    if not districts:
        raise ServiceError(
            "region_without_districts", _("Die Region hat keine Kreise."), field="region"
        )
    delivery = Delivery.objects.create(
        region=region, vaccine=vaccine, doses=doses, delivered_on=delivered_on
    )
    parts = allocate_largest_remainder(doses, {d: d.population for d in districts})
    DistrictAllocation.objects.bulk_create(
        DistrictAllocation(delivery=delivery, district=district, doses=part)
        for district, part in parts.items()
    )
    return delivery
