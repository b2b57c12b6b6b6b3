"""Checks at the service boundary: whatever a caller passes (a form value, JSON, a URL
part), a service either gets a sound value or raises a ServiceError with a clear code."""

from __future__ import annotations

import datetime as dt

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError

MAX_ID = 2**63 - 1  # the database's bigint
LATEST_DATE = dt.date(9000, 1, 1)  # far enough from date.max for any date arithmetic


def as_id(value: object, *, code: str, message: str | Promise, field: str) -> int:
    """A database id from an int or a string of digits; anything else is `code`."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ServiceError(code, message, field=field)
    try:
        number = int(value)
    except ValueError:
        raise ServiceError(code, message, field=field) from None
    if not 1 <= number <= MAX_ID:
        raise ServiceError(code, message, field=field)
    return number


def as_date(value: object, *, field: str) -> dt.date:
    """A calendar date (not a datetime, not a string) within a sane range."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ServiceError("date_invalid", _("Bitte geben Sie ein gültiges Datum an."), field=field)
    if not dt.date(2000, 1, 1) <= value <= LATEST_DATE:
        raise ServiceError("date_invalid", _("Bitte geben Sie ein gültiges Datum an."), field=field)
    return value
