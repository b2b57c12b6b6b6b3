import datetime as dt
from functools import lru_cache

import holidays

from impftermin.centres.models import Centre


@lru_cache(maxsize=64)
def _public_holidays(bundesland: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.Germany(subdiv=bundesland, years=year).keys())


def is_public_holiday(*, bundesland: str, day: dt.date) -> bool:
    return day in _public_holidays(bundesland, day.year)


def centre_is_open_on(*, centre: Centre, bundesland: str, day: dt.date) -> bool:
    """Weekends count like any day (R12); public holidays only if the centre opens then."""
    return centre.open_on_public_holidays or not is_public_holiday(bundesland=bundesland, day=day)
