import datetime as dt
from functools import lru_cache

import holidays
from django.utils.translation import gettext_lazy as _

from impftermin.centres.models import Centre
from impftermin.core.errors import ServiceError
from impftermin.core.validation import as_id
from impftermin.vaccines.models import Vaccine


@lru_cache(maxsize=64)
def _public_holidays(bundesland: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.Germany(subdiv=bundesland, years=year).keys())


def is_public_holiday(*, bundesland: str, day: dt.date) -> bool:
    return day in _public_holidays(bundesland, day.year)


def centre_is_open_on(*, centre: Centre, bundesland: str, day: dt.date) -> bool:
    """Weekends count like any day (R12); public holidays only if the centre opens then."""
    return centre.open_on_public_holidays or not is_public_holiday(bundesland=bundesland, day=day)


UNKNOWN_CENTRE = _("Dieses Impfzentrum gibt es nicht.")
UNKNOWN_VACCINE = _("Diesen Impfstoff gibt es nicht.")


def get_centre(centre_id: object, *, lock: bool = False) -> Centre:
    """The centre (with its district and region), or a clear error. With `lock`, the
    centre row is locked to the end of the transaction (slot generation per centre)."""
    pk = as_id(centre_id, code="unknown_centre", message=UNKNOWN_CENTRE, field="centre")
    centres = Centre.objects.select_related("district__region")
    if lock:
        centres = centres.select_for_update(of=("self",))
    try:
        return centres.get(pk=pk)
    except Centre.DoesNotExist:
        raise ServiceError("unknown_centre", UNKNOWN_CENTRE, field="centre") from None


def get_vaccine(vaccine_id: object = None, *, code: str | None = None) -> Vaccine:
    """The vaccine by id or code, or a clear error; shared by every service taking one."""
    try:
        if code is not None:
            return Vaccine.objects.get(code=code)
        pk = as_id(vaccine_id, code="unknown_vaccine", message=UNKNOWN_VACCINE, field="vaccine")
        return Vaccine.objects.get(pk=pk)
    except (Vaccine.DoesNotExist, TypeError):
        raise ServiceError("unknown_vaccine", UNKNOWN_VACCINE, field="vaccine") from None


def vaccines_offered(*, district_id: int) -> list[Vaccine]:
    """The active vaccines that an active centre of the district vaccinates with."""
    return list(
        Vaccine.objects.filter(
            active=True,
            centre_capacities__centre__district_id=district_id,
            centre_capacities__centre__active=True,
        )
        .distinct()
        .order_by("code")
    )


def centres_by_id(*, ids: list[int]) -> dict[int, Centre]:
    return Centre.objects.in_bulk(set(ids))


def centre_offers(*, centre_id: int, vaccine_id: int) -> bool:
    """Whether the centre vaccinates with this vaccine (it has a capacity for it)."""
    return Centre.objects.filter(
        pk=centre_id, active=True, capacities__vaccine_id=vaccine_id
    ).exists()


def district_centres(*, district_id: int) -> list[Centre]:
    """The district's active centres, by name (a registration chooses one, R13)."""
    return list(Centre.objects.filter(district_id=district_id, active=True).order_by("name", "id"))


def _centres_of(user):
    centres = Centre.objects.filter(active=True).select_related("district__region")
    return centres if getattr(user, "is_superuser", False) else centres.filter(staff=user)


def centres_of(user) -> list[Centre]:
    """The active centres a staff member works at (all of them for a superuser)."""
    return list(_centres_of(user).order_by("name"))


def works_at(user, centre_id: object) -> Centre | None:
    """The centre, if this staff member works there (a superuser: any active centre)."""
    if not isinstance(centre_id, int) or isinstance(centre_id, bool):
        return None
    return _centres_of(user).filter(pk=centre_id).first()


def centres_by_region() -> list[tuple]:
    """(region, [active centres]) for every region, by name: for operators' pickers."""
    grouped: dict = {}
    for centre in (
        Centre.objects.filter(active=True)
        .select_related("district__region")
        .order_by("district__region__name", "name")
    ):
        grouped.setdefault(centre.district.region, []).append(centre)
    return list(grouped.items())
