import datetime as dt
import itertools

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from impftermin.centres.models import CentreCapacity, OpeningHours
from impftermin.centres.selectors import get_centre, get_vaccine
from impftermin.core.errors import ServiceError


@transaction.atomic
def centre_capacity_set(
    *, centre_id: int, vaccine_id: int, seats_per_slot: int, slot_minutes: int = 5
) -> CentreCapacity:
    """Set how many people a centre vaccinates with a vaccine per time unit."""
    centre = get_centre(centre_id)
    vaccine = get_vaccine(vaccine_id)
    if not isinstance(seats_per_slot, int) or seats_per_slot <= 0:
        raise ServiceError(
            "capacity_not_positive",
            _("Die Kapazität muss größer als null sein."),
            field="seats_per_slot",
        )
    if not isinstance(slot_minutes, int) or not 1 <= slot_minutes <= 240:
        raise ServiceError(
            "slot_minutes_invalid",
            _("Die Zeiteinheit muss zwischen 1 und 240 Minuten liegen."),
            field="slot_minutes",
        )
    capacity, _created = CentreCapacity.objects.update_or_create(
        centre=centre,
        vaccine=vaccine,
        defaults={"seats_per_slot": seats_per_slot, "slot_minutes": slot_minutes},
    )
    return capacity


@transaction.atomic
def opening_hours_set(
    *, centre_id: int, weekday: int, periods: list[tuple[dt.time, dt.time]]
) -> list[OpeningHours]:
    """Replace a centre's opening hours for one weekday; an empty list closes it that day."""
    centre = get_centre(centre_id)
    if weekday not in range(7):
        raise ServiceError("weekday_invalid", _("Der Wochentag ist ungültig."), field="weekday")
    ordered = sorted(periods)
    for opens, closes in ordered:
        if opens >= closes:
            raise ServiceError(
                "hours_invalid", _("Ein Zeitraum muss enden, nachdem er beginnt."), field="periods"
            )
    for (_o1, c1), (o2, _c2) in itertools.pairwise(ordered):
        if o2 < c1:
            raise ServiceError(
                "hours_overlap", _("Die Öffnungszeiten überschneiden sich."), field="periods"
            )
    OpeningHours.objects.filter(centre=centre, weekday=weekday).delete()
    return OpeningHours.objects.bulk_create(
        OpeningHours(centre=centre, weekday=weekday, opens=o, closes=c) for o, c in ordered
    )
