"""The OpenAPI of Impftermin, version 1 (`/api/v1/`, django-ninja): public reads for
everyone (cached, rate-limited per client) and operations for partner systems with an API
key (`X-API-Key`), scoped to regions and operations, each call logged.

Every failure has one shape, `Error`: a machine-readable `code`, a `message` in the
language of `Accept-Language` (German by default) and `fields` with the errors per input
field. 429 answers carry `Retry-After`. Booking operations accept an `Idempotency-Key`
header: a repeat of the same request within a day gets the first answer again
(`Idempotent-Replayed: true`) instead of booking twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any

from django.core.cache import cache
from django.db import DataError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from ninja import Field, NinjaAPI, Path, Query, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader

from impftermin.api import partner_services as partner
from impftermin.api.models import ApiKey
from impftermin.api.services import (
    api_key_check,
    idempotency_fingerprint,
    idempotent_abandon,
    idempotent_begin,
    idempotent_finish,
    partner_call_record,
)
from impftermin.booking.models import AppointmentPair
from impftermin.booking.selectors import (
    MAX_SEARCH_DAYS,
    PairOption,
    free_days_cached,
    free_pair_options,
    local_today,
)
from impftermin.booking.services import BookingResult
from impftermin.centres.models import Centre
from impftermin.centres.selectors import get_vaccine
from impftermin.core.errors import ServiceError
from impftermin.core.throttle import Limit, client_key, rate_take
from impftermin.regions.models import District, Region
from impftermin.regions.selectors import postcode_districts
from impftermin.vaccines.models import Vaccine

# A booking code as people write it: 12 characters of the code alphabet (no I, L, O, 0,
# 1), in any case, with or without dashes or spaces between them.
CODE_PATTERN = r"^(?:[A-HJKMNP-Za-hjkmnp-z2-9][ -]?){12}$"
CodeText = Annotated[str, Field(pattern=CODE_PATTERN, examples=["ABCD-EFGH-JKMN"])]

logger = logging.getLogger(__name__)
PUBLIC_READS = Limit("api-public-client", 300, dt.timedelta(minutes=1))
FAILED_KEYS = Limit("api-failed-key-client", 60, dt.timedelta(minutes=1))
PARTNER_CALLS = Limit("api-partner-key", 600, dt.timedelta(minutes=1))
# How long a centre's district and vaccines are kept for the availability read.
AVAILABILITY_SECONDS = 30
MAX_AVAILABILITY_DAYS = 60

NOT_FOUND = {
    "unknown_district",
    "unknown_region",
    "unknown_centre",
    "unknown_vaccine",
    "unknown_slot",
    "unknown_pair",
    "code_unknown",
    "no_booking",
    "not_found",
    "postcode_unknown",
}
CONFLICT = {"holder_has_live_pair", "idempotency_key_reused", "idempotency_in_progress"}


class PartnerKey(APIKeyHeader):
    """`X-API-Key: itk_…`; each partner call counts against the key's rate."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        found = api_key_check(key)
        if found is None:
            rate_take(FAILED_KEYS, client_key(request))  # a wrong key costs a client
        else:
            rate_take(PARTNER_CALLS, found.prefix)
        return found


api = NinjaAPI(
    title="Impftermin API",
    version="1",
    description=__doc__,
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


# --- one error format -----------------------------------------------------------------------


class Error(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class SlotTaken(Error):
    """A lost race (R11): nothing booked; the next free options instead."""

    alternatives: list[PairOut] = []


def status_of(error: ServiceError) -> int:
    if error.code == "throttled":
        return 429
    if error.code == "scope_missing":
        return 403
    if error.code in NOT_FOUND:
        return 404
    if error.code in CONFLICT:
        return 409
    if error.params.get("retry_after") is not None:  # another limit with a time (a cooldown)
        return 429
    return 400


def error_body(error: ServiceError) -> dict:
    fields = {error.field: [error.message]} if error.field else {}
    return {"code": error.code, "message": error.message, "fields": fields}


def _error_response(request: HttpRequest, status: int, body: dict, retry_after=None):
    response = api.create_response(request, body, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, error: ServiceError) -> HttpResponse:
    return _error_response(
        request, status_of(error), error_body(error), error.params.get("retry_after")
    )


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for problem in error.errors:
        location = [
            str(part)
            for part in problem.get("loc", ())
            if part not in ("body", "query", "path", "payload")
        ]
        fields.setdefault(".".join(location) or "request", []).append(str(problem.get("msg", "")))
    return _error_response(
        request,
        422,
        {"code": "invalid_input", "message": str(INVALID_INPUT), "fields": fields},
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _error_response(
        request, 401, {"code": "unauthenticated", "message": str(UNAUTHENTICATED), "fields": {}}
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    return _error_response(
        request, error.status_code, {"code": "http_error", "message": str(error), "fields": {}}
    )


@api.exception_handler(DataError)
def _data_error(request: HttpRequest, error: DataError) -> HttpResponse:
    """What the database cannot store (a NUL character, say) is bad input, not a failure;
    the request's transaction has rolled back. Logged: it may also be a bug of ours."""
    logger.warning("API input the database refused: %s %s: %s", request.method, request.path, error)
    return _error_response(
        request, 422, {"code": "invalid_input", "message": str(INVALID_INPUT), "fields": {}}
    )


INVALID_INPUT = _("Die Anfrage ist unvollständig oder fehlerhaft.")
SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,50}$"
UNAUTHENTICATED = _("Bitte senden Sie einen gültigen API-Schlüssel (X-API-Key).")


# --- public reads ----------------------------------------------------------------------------

ERRORS = {400: Error, 404: Error, 422: Error, 429: Error}


def cacheable(max_age: int) -> Callable:
    """For decorate_view: a successful public read may be cached by browsers and proxies
    for `max_age` seconds; refusals (404, 422, 429) may not."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if response.status_code == 200:
                patch_cache_control(response, public=True, max_age=max_age)
            else:
                patch_cache_control(response, no_store=True)
            return response

        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Public reads: rate-limited per client, cacheable by browsers and proxies."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any):
        rate_take(PUBLIC_READS, client_key(request))
        return view(request, *args, **kwargs)

    return wrapped


class RegionOut(Schema):
    slug: str
    name: str
    booking_mode: str = Field(description="codes (booking codes) or assignment (registration)")
    bundesland: str
    hotline: str
    hotline_abroad: str


class DistrictOut(Schema):
    ags: str = Field(description="Kreisschlüssel, 5 digits")
    name: str
    kind: str
    region: str


class OpeningHoursOut(Schema):
    weekday: int = Field(description="0 Monday … 6 Sunday")
    opens: str
    closes: str


class CentreOut(Schema):
    id: int
    name: str
    district: str
    region: str
    street: str
    postcode: str
    city: str
    accessibility_notes: str
    opening_hours: list[OpeningHoursOut]
    vaccines: list[str]


class VaccineOut(Schema):
    code: str
    name: str
    doses: int
    min_interval_days: int | None
    max_interval_days: int | None
    min_age: int
    max_age: int | None


class AvailabilityDay(Schema):
    day: dt.date
    bookable_slots: int = Field(
        description="first-dose times with a free seat and a second in the interval"
    )


class AvailabilityOut(Schema):
    centre: int
    vaccine: str
    days: list[AvailabilityDay]


def _district_out(district: District) -> dict:
    return {
        "ags": district.ags,
        "name": district.name,
        "kind": district.kind,
        "region": district.region.slug,
    }


@api.get("/regions", response={200: list[RegionOut], **ERRORS}, tags=["public"])
@decorate_view(cacheable(300))
@public
def regions(request: HttpRequest):
    """Regions and how they book."""
    return list(Region.objects.all())


@api.get("/regions/{slug}/districts", response={200: list[DistrictOut], **ERRORS}, tags=["public"])
@decorate_view(cacheable(300))
@public
def districts(request: HttpRequest, slug: str = Path(..., pattern=SLUG_PATTERN)):
    """The districts (Kreise, kreisfreie Städte) of a region."""
    region = Region.objects.filter(slug=slug).first()
    if region is None:
        raise ServiceError("unknown_region", _("Diese Region gibt es nicht."), field="slug")
    return [
        _district_out(d) for d in District.objects.filter(region=region).select_related("region")
    ]


@api.get("/centres", response={200: list[CentreOut], **ERRORS}, tags=["public"])
@decorate_view(cacheable(300))
@public
def centres(
    request: HttpRequest,
    region: str | None = Query(None, pattern=SLUG_PATTERN),
    district: str | None = Query(None, pattern=r"^[0-9]{1,5}$"),
):
    """Active centres with address, opening hours, accessibility notes and vaccines."""
    queryset = Centre.objects.filter(active=True).select_related("district__region")
    if region:
        queryset = queryset.filter(district__region__slug=region)
    if district:
        queryset = queryset.filter(district__ags=district)
    queryset = queryset.prefetch_related("opening_hours", "capacities__vaccine")
    return [
        {
            "id": c.pk,
            "name": c.name,
            "district": c.district.ags,
            "region": c.district.region.slug,
            "street": c.street,
            "postcode": c.postcode,
            "city": c.city,
            "accessibility_notes": c.accessibility_notes,
            "opening_hours": [
                {
                    "weekday": h.weekday,
                    "opens": h.opens.strftime("%H:%M"),
                    "closes": h.closes.strftime("%H:%M"),
                }
                for h in c.opening_hours.all()
            ],
            "vaccines": sorted(
                {cap.vaccine.code for cap in c.capacities.all() if cap.vaccine.active}
            ),
        }
        for c in queryset
    ]


@api.get("/vaccines", response={200: list[VaccineOut], **ERRORS}, tags=["public"])
@decorate_view(cacheable(300))
@public
def vaccines(request: HttpRequest):
    """The vaccines in use, with their code (L920 …), doses, interval and ages."""
    return list(Vaccine.objects.filter(active=True).order_by("code"))


@api.get("/postcodes/{postcode}", response={200: list[DistrictOut], **ERRORS}, tags=["public"])
@decorate_view(cacheable(3600))
@public
def postcode(request: HttpRequest, postcode: str = Path(..., pattern=r"^[0-9]{5}$")):
    """The district(s) and region(s) of a postcode (a postcode may cross a border)."""
    return [_district_out(d) for d in postcode_districts(postcode=postcode)]


@api.get("/availability", response={200: list[AvailabilityOut], **ERRORS}, tags=["public"])
@decorate_view(cacheable(5))  # proxies may keep it briefly; our cache is renewed at once
@public
def availability(
    request: HttpRequest,
    centre: int = Query(..., ge=1, le=2**31 - 1),
    vaccine: str | None = Query(None, max_length=10),
    days: int = Query(28, ge=1, le=MAX_AVAILABILITY_DAYS),
):
    """Free capacity per centre, vaccine and day: how many bookable first-dose times
    (with a second inside the interval for two-dose vaccines) each day has. Served from
    the cache that bookings and cancellations renew (at most 30 seconds old otherwise)."""
    offer = _centre_offer(centre)
    if offer is None:
        raise ServiceError("unknown_centre", _("Dieses Impfzentrum gibt es nicht."), field="centre")
    district_id, offered = offer
    today = local_today()
    return [
        {
            "centre": centre,
            "vaccine": v.code,
            "days": [
                {"day": day, "bookable_slots": count}
                for day, count in free_days_cached(
                    district_id=district_id,
                    vaccine=v,
                    date_from=today,
                    date_to=today + dt.timedelta(days=days - 1),
                    centre_id=centre,
                )
            ],
        }
        for v in offered
        if vaccine is None or v.code == vaccine
    ]


def _centre_offer(centre_id: int) -> tuple[int, list[Vaccine]] | None:
    """An active centre's district and active vaccines, cached: the availability read asks
    the database nothing while its answers are cached."""

    def read() -> tuple[int, list[Vaccine]] | bool:
        found = Centre.objects.filter(pk=centre_id, active=True).first()
        if found is None:
            return False  # kept too: an unknown centre asks the database no more often
        capacities = found.capacities.select_related("vaccine")
        return found.district_id, [c.vaccine for c in capacities if c.vaccine.active]

    return cache.get_or_set(f"api-centre-offer:{centre_id}", read, AVAILABILITY_SECONDS) or None


# --- partner operations ----------------------------------------------------------------------

PARTNER = PartnerKey()
PARTNER_ERRORS = {
    400: Error,
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    422: Error,
    429: Error,
}


class PairOut(Schema):
    centre: int
    vaccine: str
    first_slot: int
    first_start: dt.datetime
    second_slot: int | None
    second_start: dt.datetime | None


SlotTaken.model_rebuild()


class AppointmentOut(Schema):
    dose: int
    start: dt.datetime


class BookingOut(Schema):
    pair: int
    status: str
    centre: int
    centre_name: str
    vaccine: str
    appointments: list[AppointmentOut]


class BookIn(Schema):
    codes: list[CodeText] = Field(
        ...,
        min_length=1,
        max_length=4,
        description="one code per person; 2-4 book side by side (R7)",
    )
    district: str = Field(
        ..., min_length=5, max_length=5, description="the people's district (AGS)"
    )
    first_slot: int = Field(..., ge=1, le=2**31 - 1)
    second_slot: int | None = Field(None, ge=1, le=2**31 - 1)


class CodeIn(Schema):
    code: CodeText


class RegistrationLookupIn(Schema):
    vorgangskennung: str = Field(..., min_length=1, max_length=40, examples=["ABCD-EFGH-JKM3"])
    birth_date: dt.date


class RebookIn(Schema):
    code: CodeText
    first_slot: int = Field(..., ge=1, le=2**31 - 1)
    second_slot: int | None = Field(None, ge=1, le=2**31 - 1)


class RegistrationIn(Schema):
    region: str = Field(..., max_length=50)
    first_name: str = Field(..., max_length=100)
    last_name: str = Field(..., max_length=100)
    birth_date: dt.date
    street: str = Field(..., max_length=150)
    postcode: str = Field(..., max_length=5)
    city: str = Field(..., max_length=100)
    residence: str = Field("first", description="first or second residence")
    centre: int = Field(..., ge=1, le=2**31 - 1)
    vaccine: str = Field(..., max_length=10, description="vaccine code, e.g. L920")
    email: str = Field("", max_length=254)
    mobile: str = Field("", max_length=40)
    single_dose: bool = False
    password: str | None = Field(None, max_length=200, description="lets the person log in online")
    language: str = Field("de", max_length=8)


class RegistrationOut(Schema):
    vorgangskennung: str
    status: str
    centre: int
    vaccine: str
    booking: BookingOut | None


def _pair_out(option: PairOption) -> dict:
    return {
        "centre": option.centre_id,
        "vaccine": get_vaccine(option.vaccine_id).code,
        "first_slot": option.first_slot_id,
        "first_start": option.first_start,
        "second_slot": option.second_slot_id,
        "second_start": option.second_start,
    }


def _booking_out(pair: AppointmentPair) -> dict:
    return partner.booking_payload(pair)  # the same shape as the webhooks' data


def _result(result: BookingResult, status: int) -> tuple[int, dict]:
    if result.booked:
        return status, {
            "booked": True,
            "bookings": [_booking_out(p) for p in result.pairs],
        }
    return 409, {
        "code": "slot_taken",
        "message": str(SLOT_TAKEN),
        "fields": {},
        "alternatives": [_pair_out(o) for o in result.alternatives],
    }


SLOT_TAKEN = _("Dieser Termin wurde gerade vergeben. Hier sind die nächsten freien Termine.")


class BookedOut(Schema):
    booked: bool
    bookings: list[BookingOut]


def _logged(request: HttpRequest, operation: str, run: Callable[[], tuple[int, dict]], which=None):
    """Run a partner operation: its call-log entry whatever the outcome. For a POST with an
    `Idempotency-Key` the reply is kept in the same transaction as the change (a kept
    reply means the change holds; a change rolled back leaves the key free), and a repeat
    of the request gets it again. A refusal commits what the services mean to keep even
    then (attempt counters): their own work is rolled back within their blocks."""
    key: ApiKey = request.auth
    idempotency = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    claim = None
    try:
        if idempotency is not None:
            claim = idempotent_begin(
                partner=key.partner,
                key=idempotency,
                fingerprint=idempotency_fingerprint(request.method, request.path, request.body),
            )
    except ServiceError as error:
        partner_call_record(key=key, operation=operation, status=status_of(error))
        raise
    if claim is not None and claim.status:
        partner_call_record(key=key, operation=operation + ":replayed", status=claim.status)
        response = HttpResponse(
            claim.body, status=claim.status, content_type="application/json; charset=utf-8"
        )
        response["Idempotent-Replayed"] = "true"
        return response
    refusal = None
    try:
        with transaction.atomic():
            try:
                status, body = run()
            except ServiceError as error:
                refusal = error
                status, body = status_of(error), error_body(error)
            if claim is not None and refusal is not None and refusal.code == "throttled":
                idempotent_abandon(claim=claim)  # not an answer: the key may be used again
            elif claim is not None:
                rendered = api.create_response(request, body, status=status).content.decode()
                idempotent_finish(claim=claim, status=status, body=rendered)
    except Exception:
        if claim is not None:
            idempotent_abandon(claim=claim)  # rolled back: the key may be used again
        raise
    partner_call_record(
        key=key,
        operation=operation,
        status=status,
        which=which(body) if which and status < 300 else "",
    )
    if refusal is not None and (claim is None or refusal.code == "throttled"):
        raise refusal  # answered by the exception handler (Retry-After for 429)
    return Status(status, body)


def _first_pair(body: dict) -> object:
    return body["bookings"][0]["pair"] if body.get("bookings") else ""


@api.get(
    "/partner/pairs",
    auth=PARTNER,
    response={200: list[PairOut], **PARTNER_ERRORS},
    tags=["partner"],
)
def pairs(
    request: HttpRequest,
    district: str = Query(..., min_length=5, max_length=5),
    vaccine: str = Query(..., max_length=10),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    party_size: int = Query(1, ge=1, le=4),
    limit: int = Query(20, ge=1, le=100),
):
    """Free pairs in a district of the partner's regions (scope `search`)."""

    def run():
        partner.scope_check(request.auth, partner.Scope.SEARCH)
        found = partner.partner_district(request.auth, district)
        today = local_today()
        start = date_from or today
        if not today - dt.timedelta(days=1) <= start <= today + dt.timedelta(days=MAX_SEARCH_DAYS):
            raise ServiceError(
                "date_invalid",
                _("Bitte suchen Sie höchstens ein Jahr im Voraus."),
                field="date_from",
            )
        options = free_pair_options(
            district_id=found.pk,
            vaccine_id=get_vaccine(code=vaccine).pk,
            date_from=start,
            date_to=date_to or start + dt.timedelta(days=found.region.release_days_ahead),
            party_size=party_size,
            region_id=found.region_id,
            limit=limit,
        )
        return 200, [_pair_out(o) for o in options]

    return _logged(request, "pairs.search", run)


@api.post(
    "/partner/bookings",
    auth=PARTNER,
    response={**PARTNER_ERRORS, 201: BookedOut, 409: SlotTaken},
    tags=["partner"],
)
def book(request: HttpRequest, payload: BookIn):
    """Book a pair with one booking code, or pairs side by side with 2 to 4 codes (R7),
    in the people's district (scope `book`). A lost race answers 409 `slot_taken` with
    the next free options."""

    def run():
        return _result(
            partner.partner_book(
                key=request.auth,
                codes=payload.codes,
                district_ags=payload.district,
                first_slot_id=payload.first_slot,
                second_slot_id=payload.second_slot,
            ),
            201,
        )

    return _logged(request, "bookings.create", run, which=_first_pair)


@api.post(
    "/partner/bookings/lookup",
    auth=PARTNER,
    response={200: BookingOut, **PARTNER_ERRORS},
    tags=["partner"],
)
def booking(request: HttpRequest, payload: CodeIn):
    """The booking behind a code (scope `manage`). The code travels in the body, never in
    a URL (URLs end up in logs)."""

    def run():
        pair = partner.partner_booking(key=request.auth, code=payload.code)
        return 200, _booking_out(pair)

    return _logged(request, "bookings.read", run, which=lambda body: body["pair"])


@api.post(
    "/partner/bookings/rebook",
    auth=PARTNER,
    response={**PARTNER_ERRORS, 200: BookedOut, 409: SlotTaken},
    tags=["partner"],
)
def rebook(request: HttpRequest, payload: RebookIn):
    """Move the booking behind a code (scope `manage`); the new pair is claimed before
    the old one is given up."""

    def run():
        return _result(
            partner.partner_rebook(
                key=request.auth,
                code=payload.code,
                first_slot_id=payload.first_slot,
                second_slot_id=payload.second_slot,
            ),
            200,
        )

    return _logged(request, "bookings.rebook", run, which=_first_pair)


@api.post(
    "/partner/bookings/cancel",
    auth=PARTNER,
    response={200: BookingOut, **PARTNER_ERRORS},
    tags=["partner"],
)
def cancel(request: HttpRequest, payload: CodeIn):
    """Cancel the booking behind a code (scope `manage`); the seats are free at once."""

    def run():
        return 200, _booking_out(partner.partner_cancel(key=request.auth, code=payload.code))

    return _logged(request, "bookings.cancel", run, which=lambda body: body["pair"])


def _registration_out(state: partner.RegistrationState) -> dict:
    registration = state.registration
    return {
        "vorgangskennung": registration.vorgangskennung,
        "status": registration.status,
        "centre": registration.centre_id,
        "vaccine": registration.vaccine.code,
        "booking": _booking_out(state.pair) if state.pair else None,
    }


@api.post(
    "/partner/registrations",
    auth=PARTNER,
    response={201: RegistrationOut, **PARTNER_ERRORS},
    tags=["partner"],
)
def register(request: HttpRequest, payload: RegistrationIn):
    """Register a person in a region in assignment mode (scope `register`); the
    assignment gives them a pair later. Answers the Vorgangskennung."""

    def run():
        data = payload.dict()
        registration = partner.partner_register(
            key=request.auth,
            region_slug=data.pop("region"),
            vaccine_id=get_vaccine(code=data.pop("vaccine")).pk,
            centre_id=data.pop("centre"),
            **data,
        )
        return 201, _registration_out(partner.RegistrationState(registration, None))

    return _logged(request, "registrations.create", run)


@api.post(
    "/partner/registrations/lookup",
    auth=PARTNER,
    response={200: RegistrationOut, **PARTNER_ERRORS},
    tags=["partner"],
)
def registration(request: HttpRequest, payload: RegistrationLookupIn):
    """A registration by Vorgangskennung and date of birth (scope `register`): its state
    and pair. Throttled per partner and per Vorgangskennung (whoever asks, the call
    center included); both travel in the body, never in a URL."""

    def run():
        state = partner.partner_registration(
            key=request.auth,
            vorgangskennung=payload.vorgangskennung,
            birth_date=payload.birth_date,
        )
        return 200, _registration_out(state)

    return _logged(request, "registrations.read", run)
