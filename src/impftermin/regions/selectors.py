from django.db.models import Count, QuerySet

from impftermin.regions.models import District, Region


def region_overview() -> QuerySet[Region]:
    return Region.objects.annotate(
        district_count=Count("districts", distinct=True),
        centre_count=Count("districts__centres", distinct=True),
    ).order_by("name")


def districts_for_postcode(*, code: str) -> QuerySet[District]:
    """The districts a postcode lies in (often one, sometimes two or three)."""
    return District.objects.filter(postcodes__code=code).select_related("region").order_by("name")
