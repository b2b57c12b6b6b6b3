from django.db.models import Count, QuerySet

from impftermin.regions.models import Region


def region_overview() -> QuerySet[Region]:
    return Region.objects.annotate(
        district_count=Count("districts", distinct=True),
        centre_count=Count("districts__centres", distinct=True),
    ).order_by("name")
