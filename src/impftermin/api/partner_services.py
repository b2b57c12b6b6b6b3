"""What a partner system does through the API, each in one transaction with its call-log
entry's subject and its webhook events: the codes and registrations apps' services decide
(no second booking path); this module adds the partner's scope, regions and events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from impftermin.api.models import ApiKey, Partner, Scope
from impftermin.api.services import webhooks_notify
from impftermin.booking.models import AppointmentPair, Channel
from impftermin.booking.selectors import booked_appointments, live_pair_for
from impftermin.booking.services import BookingResult
from impftermin.codes.models import CodeSet
from impftermin.codes.services import (
    code_book_pair,
    code_cancel,
    code_live_pair,
    code_rebook,
    code_set_for,
    codes_book_adjacent,
)
from impftermin.core.errors import ServiceError
from impftermin.core.throttle import Limit, attempt_take
from impftermin.regions.models import District
from impftermin.registrations.models import Registration
from impftermin.registrations.services import (
    LOOKUP_NOT_FOUND,
    registration_create,
    registration_find,
)

# Registration look-ups (each a guess at a date of birth, counted also per Vorgangskennung
# by registrations.services, whoever asks) and registrations (each a question to the
# population register), per partner.
LOOKUPS_PER_PARTNER = Limit("api-registration-partner", 300, dt.timedelta(hours=1))
REGISTRATIONS_PER_PARTNER = Limit("api-registration-create", 2000, dt.timedelta(hours=1))

NOT_ALLOWED = _("Dieser Schlüssel darf das nicht.")


def scope_check(key: ApiKey, scope: Scope) -> None:
    if scope not in (key.partner.scopes or []):
        raise ServiceError("scope_missing", NOT_ALLOWED, scope=str(scope))


def _regions(partner: Partner) -> set[int]:
    return set(partner.regions.values_list("pk", flat=True))


def partner_district(key: ApiKey, ags: object) -> District:
    """A district of the partner's regions, by its AGS; others read as unknown."""
    district = District.objects.filter(ags=str(ags)).select_related("region").first()
    if district is None or district.region_id not in _regions(key.partner):
        raise ServiceError("unknown_district", _("Diesen Kreis gibt es nicht."), field="district")
    return district


def partner_code_set(key: ApiKey, code: object) -> CodeSet:
    """The person behind a code of the partner's regions; others read as unknown."""
    code_set = code_set_for(code)
    if code_set.region_id not in _regions(key.partner):
        raise ServiceError(
            "code_unknown", _("Diesen Vermittlungscode kennen wir nicht."), field="code"
        )
    return code_set


_JSON = DjangoJSONEncoder()


def booking_payload(pair: AppointmentPair) -> dict:
    """A pair as the API answers it and webhooks tell it: ids, times and the centre — no
    personal data."""
    return {
        "pair": pair.pk,
        "status": pair.status,
        "centre": pair.centre_id,
        "centre_name": pair.centre.name,
        "vaccine": pair.vaccine.code,
        "appointments": [
            {"dose": a.dose, "start": _JSON.default(a.slot.start)}  # as the API writes times
            for a in booked_appointments(pair)
        ],
    }


def _notify(partner: Partner, event: str, pairs: list[AppointmentPair]) -> None:
    for pair in pairs:
        webhooks_notify(partner=partner, event=event, payload=booking_payload(pair))


def partner_book(
    *,
    key: ApiKey,
    codes: list[str],
    district_ags: object,
    first_slot_id: int,
    second_slot_id: int | None,
) -> BookingResult:
    """Book with 1 code (a pair) or 2-4 codes (pairs side by side, R7)."""
    scope_check(key, Scope.BOOK)
    for code in codes:
        partner_code_set(key, code)
    district = partner_district(key, district_ags)
    with transaction.atomic():
        if len(codes) == 1:
            result = code_book_pair(
                code=codes[0],
                district_id=district.pk,
                first_slot_id=first_slot_id,
                second_slot_id=second_slot_id,
                channel=Channel.API,
            )
        else:
            result = codes_book_adjacent(
                codes=codes,
                district_id=district.pk,
                first_slot_id=first_slot_id,
                second_slot_id=second_slot_id,
                channel=Channel.API,
            )
        _notify(key.partner, "booking.created", result.pairs)
    return result


def partner_booking(*, key: ApiKey, code: object) -> AppointmentPair:
    """The live pair behind a code (R10)."""
    scope_check(key, Scope.MANAGE)
    return code_live_pair(code_set=partner_code_set(key, code))


def partner_rebook(
    *, key: ApiKey, code: str, first_slot_id: int, second_slot_id: int | None
) -> BookingResult:
    scope_check(key, Scope.MANAGE)
    partner_code_set(key, code)
    with transaction.atomic():
        result = code_rebook(
            code=code,
            first_slot_id=first_slot_id,
            second_slot_id=second_slot_id,
            channel=Channel.API,
        )
        _notify(key.partner, "booking.rebooked", result.pairs)
    return result


def partner_cancel(*, key: ApiKey, code: str) -> AppointmentPair:
    scope_check(key, Scope.MANAGE)
    partner_code_set(key, code)
    with transaction.atomic():
        pair = code_cancel(code=code)
        _notify(key.partner, "booking.cancelled", [pair])
    return pair


def partner_register(*, key: ApiKey, region_slug: object, **fields) -> Registration:
    """A registration in assignment mode (R13-R15), with a password when the partner's
    portal lets the person set one, else without (like the phone, R21)."""
    scope_check(key, Scope.REGISTER)
    region_id = next(
        (pk for pk, slug in key.partner.regions.values_list("pk", "slug") if slug == region_slug),
        None,
    )
    if region_id is None:
        raise ServiceError("unknown_region", _("Diese Region gibt es nicht."), field="region")
    attempt_take([(REGISTRATIONS_PER_PARTNER, str(key.partner_id))])
    return registration_create(region_id=region_id, channel=Channel.API, **fields)


@dataclass(frozen=True)
class RegistrationState:
    registration: Registration
    pair: AppointmentPair | None


def partner_registration(
    *, key: ApiKey, vorgangskennung: object, birth_date: object
) -> RegistrationState:
    """A registration found by Vorgangskennung AND date of birth (as at the call center,
    R20), of the partner's regions (others read as not found)."""
    scope_check(key, Scope.REGISTER)
    registration = registration_find(
        vorgangskennung=vorgangskennung,
        birth_date=birth_date,
        asker=(LOOKUPS_PER_PARTNER, str(key.partner_id)),
    )
    if registration.region_id not in _regions(key.partner):
        raise ServiceError("not_found", LOOKUP_NOT_FOUND, field="vorgangskennung")
    return RegistrationState(registration, live_pair_for(holder=registration.holder))
