"""The 2021 impfterminservice.de protocol, so that community tools written for it (slot
checkers, bots, city dashboards) work against this server when only the base URL changes.

Every operation calls the codes app's services — the same PIN rules (R2, R3), the same
code look-up limits, the same booking engine (one pair per code, R11 races) as the web
pages; nothing here writes by itself. Answers are JSON in the shapes 2021 clients parse,
texts in German as then. Errors: {"errors": [{"code", "text"}]} with the 2021 codes where
the protocol has one (BU004 slot taken, WP009 code already booked, WP011 pair no longer
offered, and `{"error": "Anfragelimit erreicht."}` for a mobile number's daily PINs); 429
with Retry-After when a client's limit is reached; 401 for an unknown code or one of
another centre group. JSON is written compactly, as the 2021 servers did.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from impftermin.booking.models import Channel
from impftermin.booking.selectors import live_pair_for
from impftermin.codes.models import CodeSet
from impftermin.codes.services import (
    code_book_pair,
    code_group_district_id,
    code_set_lookup,
    pin_request,
    pin_verify,
)
from impftermin.core.errors import ServiceError
from impftermin.core.throttle import Limit, client_key, rate_take
from impftermin.its import openapi, selectors
from impftermin.regions.models import District
from impftermin.vaccines.selectors import vaccine_eligibility

MAX_BODY = 16 * 1024
# Every request of the protocol, per client (as the public API's reads): a slot checker
# polling once a second stays within it; a bot farm behind one address does not.
REQUESTS_PER_CLIENT = Limit("its-client", 120, dt.timedelta(minutes=1))
# Engine refusals that mean "this pair is not (or no longer) on offer" (WP011).
NOT_OFFERED = {
    "unknown_slot",
    "slot_in_past",
    "slot_not_released",
    "slot_not_offered",
    "second_slot_mismatch",
    "interval_violated",
    "wrong_district",
}


def _json(data: object, status: int = 200) -> JsonResponse:
    """JSON as the 2021 servers wrote it: compact, UTF-8 as is."""
    return JsonResponse(
        data,
        status=status,
        safe=False,
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
    )


class ItsRefusal(Exception):
    def __init__(self, status: int, code: str, text: str, retry_after: int | None = None):
        self.status, self.code, self.text, self.retry_after = status, code, text, retry_after


def _errors(status: int, code: str, text: str) -> JsonResponse:
    return _json({"errors": [{"code": code, "text": text}]}, status=status)


def _refused(refusal: ItsRefusal) -> HttpResponse:
    if refusal.status == 401:
        response = _errors(401, refusal.code, refusal.text)
        response["WWW-Authenticate"] = 'Basic realm="Vermittlungscode"'
        return response
    response = _errors(refusal.status, refusal.code, refusal.text)
    if refusal.retry_after is not None:
        response["Retry-After"] = str(refusal.retry_after)
    return response


def _from_service(error: ServiceError, status: int = 400) -> ItsRefusal:
    if error.params.get("retry_after") is not None:  # a limit with a time: try again later
        return ItsRefusal(429, "THROTTLED", error.message, error.params["retry_after"])
    return ItsRefusal(status, error.code.upper(), error.message)


def its_view(view):
    """German texts, no caching of answers about codes, refusals as the protocol's JSON."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with translation.override("de"):
            try:
                try:
                    rate_take(REQUESTS_PER_CLIENT, client_key(request))
                except ServiceError as error:
                    raise _from_service(error) from None
                return view(request, *args, **kwargs)
            except ItsRefusal as refusal:
                return _refused(refusal)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _group(ags: str) -> District:
    district = selectors.group_district(ags)
    if district is None:
        raise ItsRefusal(404, "NOT_FOUND", "Diese Impfzentren-Gruppe gibt es nicht.")
    return district


def _centres(district: District, postcode: object) -> list:
    centres = selectors.group_centres(district, postcode)
    if not centres:
        raise ItsRefusal(400, "PLZ", "Unter dieser Postleitzahl gibt es hier kein Impfzentrum.")
    return centres


def _json_body(request: HttpRequest) -> dict:
    too_large = ItsRefusal(413, "ZU_GROSS", "Die Anfrage ist zu groß.")
    try:
        raw = request.body  # Django refuses above DATA_UPLOAD_MAX_MEMORY_SIZE
    except RequestDataTooBig:
        raise too_large from None
    if len(raw) > MAX_BODY:
        raise too_large
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ItsRefusal(400, "JSON", "Die Anfrage ist kein gültiges JSON.") from None
    if not isinstance(body, dict):
        raise ItsRefusal(400, "JSON", "Die Anfrage muss ein JSON-Objekt sein.")
    return body


def _authenticated(request: HttpRequest, district: District) -> tuple[str, CodeSet]:
    """The code from `Authorization: Basic base64(":" + code)`: known, of this group (or
    of no group, from the web, in this region), each wrong one counted for the client."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _space, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise ItsRefusal(401, "UNAUTHORIZED", "Bitte geben Sie Ihren Vermittlungscode an.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text, bad UTF-8
        raise ItsRefusal(
            401, "UNAUTHORIZED", "Bitte geben Sie Ihren Vermittlungscode an."
        ) from None
    _user, _colon, code = decoded.partition(":")
    try:
        code_set = code_set_lookup(code, client=client_key(request))
    except ServiceError as error:
        if error.code == "throttled":
            raise _from_service(error) from None
        raise ItsRefusal(401, "UNAUTHORIZED", "Dieser Vermittlungscode ist ungültig.") from None
    group = code_group_district_id(code_set)
    if code_set.region_id != district.region_id or group not in (None, district.pk):
        raise ItsRefusal(401, "UNAUTHORIZED", "Dieser Vermittlungscode gilt hier nicht.")
    return code, code_set


# --- public lists -----------------------------------------------------------------------


@csrf_exempt  # Basic credentials, not a session: other methods answer 405, not 403
@require_GET
@cache_control(public=True, max_age=300)
@its_view
def openapi_schema(request: HttpRequest) -> HttpResponse:
    """`/its/openapi.json`: this protocol described in OpenAPI 3 (its/openapi.py)."""
    return _json(openapi.SCHEMA)


@csrf_exempt  # Basic credentials, not a session: other methods answer 405, not 403
@require_GET
@cache_control(public=True, max_age=300)
@its_view
def centres(request: HttpRequest) -> HttpResponse:
    """`/assets/static/impfzentren.json`: the centres by Bundesland, each with the base URL
    of its group (absolute, ending in /)."""
    listing: dict[str, list[dict]] = {}
    for centre in selectors.listed_centres():
        district = centre.district
        land = district.region.get_bundesland_display()
        listing.setdefault(land, []).append(
            {
                "Zentrumsname": centre.name,
                "PLZ": centre.postcode,
                "Ort": centre.city,
                "Bundesland": land,
                "URL": request.build_absolute_uri(reverse("its:group", args=[district.ags])),
                "Adresse": centre.street,
            }
        )
    return _json(listing)


@csrf_exempt  # Basic credentials, not a session: other methods answer 405, not 403
@require_GET
@cache_control(public=True, max_age=300)
@its_view
def vaccination_list(request: HttpRequest, ags: str) -> HttpResponse:
    """`{URL}assets/static/its/vaccination-list.json`: the vaccines of the group."""
    district = _group(ags)
    entries = []
    for vaccine in selectors.group_vaccines(district):
        short = vaccine.name.split(" (")[0]
        age = (
            f"{vaccine.min_age}+"
            if vaccine.max_age is None
            else f"{vaccine.min_age}-{vaccine.max_age}"
        )
        entries.append(
            {
                "qualification": vaccine.code,
                "name": vaccine.name,
                "short": short,
                "tssname": short,
                "interval": vaccine.min_interval_days or 0,
                "age": age,
                "tssage": age,
            }
        )
    return _json(entries)


@csrf_exempt  # Basic credentials, not a session: other methods answer 405, not 403
@require_GET
@cache_control(public=True, max_age=30)
@its_view
def group_start(request: HttpRequest, ags: str) -> HttpResponse:
    """The group's base URL itself: where its booking starts on the web."""
    _group(ags)
    return _json({"web": request.build_absolute_uri(reverse("codes:start"))})


@csrf_exempt  # Basic credentials, not a session: other methods answer 405, not 403
@require_GET
@cache_control(public=True, max_age=30)
@its_view
def appointment_check(request: HttpRequest, ags: str) -> HttpResponse:
    """`rest/suche/termincheck?plz=…&leistungsmerkmale=L920,L921`: whether pairs are free
    at the centre, and for which of the asked vaccines (no code needed)."""
    district = _group(ags)
    centres = _centres(district, request.GET.get("plz"))
    asked = {q.strip() for q in request.GET.get("leistungsmerkmale", "").split(",") if q.strip()}
    available = []
    for vaccine in selectors.group_vaccines(district):
        if asked and vaccine.code not in asked:
            continue
        offers = selectors.centre_offers(
            district=district, centres=centres, vaccine=vaccine, single=vaccine.doses == 1, limit=1
        )
        if offers:
            available.append(vaccine.code)
    return _json({"termineVorhanden": bool(available), "vorhandeneLeistungsmerkmale": available})


# --- SMS PIN and codes (R2, R3) -----------------------------------------------------------


@csrf_exempt
@require_POST
@never_cache
@its_view
def pin_request_view(request: HttpRequest, ags: str) -> HttpResponse:
    """`rest/smspin/anforderung` {plz, email, phone, birthday, einzeltermin} → {token}.
    The age decides the vaccine (the first eligible one of the kind asked for)."""
    district = _group(ags)
    body = _json_body(request)
    _centres(district, body.get("plz"))
    try:
        birthday = dt.date.fromisoformat(body.get("birthday"))
    except (TypeError, ValueError):
        raise ItsRefusal(
            400, "BIRTHDAY", "Bitte geben Sie das Geburtsdatum als JJJJ-MM-TT an."
        ) from None
    single = body.get("einzeltermin", False)
    if not isinstance(single, bool):
        raise ItsRefusal(400, "EINZELTERMIN", "einzeltermin ist true oder false.")
    try:
        eligibility = vaccine_eligibility(district=district, birth_date=birthday)
    except ServiceError as error:
        raise _from_service(error) from None
    vaccines = [v for v in eligibility.vaccines if (v.doses == 1) == single]
    if not vaccines:
        reasons = " ".join(str(reason) for reason in eligibility.reasons)
        raise ItsRefusal(
            400,
            "NICHT_BERECHTIGT",
            reasons or "Für Sie gibt es hier derzeit keinen passenden Impfstoff.",
        )
    try:
        sent = pin_request(
            region_id=district.region_id,
            mobile=body.get("phone"),
            email=body.get("email"),
            language="de",
            vaccine_id=vaccines[0].pk,
            single_dose=single,
            district_id=district.pk,
            client=client_key(request),
        )
    except ServiceError as error:
        if error.code == "pin_limit_reached":
            return _json({"error": "Anfragelimit erreicht."}, status=400)
        raise _from_service(error) from None
    return _json({"token": sent.token})


@csrf_exempt
@require_POST
@never_cache
@its_view
def pin_verify_view(request: HttpRequest, ags: str) -> HttpResponse:
    """`rest/smspin/verifikation` {token, smspin}: right → the e-mail link goes out, after
    which the codes are mailed (as on the web)."""
    _group(ags)
    body = _json_body(request)
    try:
        pin_verify(token=body.get("token"), pin=body.get("smspin"), client=client_key(request))
    except ServiceError as error:
        raise _from_service(error) from None
    return _json({}, status=200)


# --- with a code ----------------------------------------------------------------------------


@csrf_exempt  # Basic credentials, not a session: other methods answer 405, not 403
@require_GET
@never_cache
@its_view
def log_in(request: HttpRequest, ags: str) -> HttpResponse:
    """`rest/login?plz=…`: the code's KV, its vaccines, and whether it is booked
    ('verknuepft': linked to a booking)."""
    district = _group(ags)
    _centres(district, request.GET.get("plz"))
    _code, code_set = _authenticated(request, district)
    return _json(
        {
            "kv": district.region.kv_number,
            "qualifikationen": [v.code for v in selectors.code_vaccines(code_set, district)],
            "verknuepft": live_pair_for(holder=code_set.holder) is not None,
        }
    )


@csrf_exempt  # Basic credentials, not a session: other methods answer 405, not 403
@require_GET
@never_cache
@its_view
def search(request: HttpRequest, ags: str) -> HttpResponse:
    """`rest/suche/impfterminsuche?plz=…`: bookable pairs at the centre for the code's
    vaccines; each inner list one pair (one slot for a single appointment)."""
    district = _group(ags)
    centres = _centres(district, request.GET.get("plz"))
    _code, code_set = _authenticated(request, district)
    vaccines = selectors.code_vaccines(code_set, district)
    pairs, centre_ids = [], set()
    for vaccine in vaccines:
        single = selectors.one_appointment(code_set, vaccine)
        for offer in selectors.centre_offers(
            district=district,
            centres=centres,
            vaccine=vaccine,
            single=single,
            limit=selectors.SLOTS_PER_VACCINE,
        ):
            option = offer.option
            centre_ids.add(option.centre_id)
            starts = [option.first_start, option.second_start]
            pairs.append(
                [
                    {
                        "slotId": str(slot_id),
                        "begin": selectors.epoch_millis(start),
                        "bsnr": _bsnr(option.centre_id),
                    }
                    for slot_id, start in zip(offer.slot_ids, starts, strict=False)
                ]
            )
    practices = {
        _bsnr(c.pk): {
            "name": c.name,
            "strasse": c.street,
            "plz": c.postcode,
            "ort": c.city,
            "barrierefreiheit": c.accessibility_notes,
        }
        for c in centres
        if c.pk in centre_ids
    }
    return _json(
        {
            "termine": pairs,
            "termineTSS": [],
            "praxen": practices,
            "gesuchteLeistungsmerkmale": [v.code for v in vaccines],
        },
    )


def _bsnr(centre_id: int) -> str:
    """A centre's number in the protocol (nine digits, as a Betriebsstättennummer)."""
    return f"{centre_id:09d}"


def _slot_ids(body: dict) -> list[int]:
    slots = body.get("slots")
    if not isinstance(slots, list) or not 1 <= len(slots) <= 2:
        raise ItsRefusal(400, "WP011", "Dieses Terminpaar wird nicht mehr angeboten.")
    ids = []
    for slot in slots:
        text = str(slot) if isinstance(slot, str | int) and not isinstance(slot, bool) else ""
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise ItsRefusal(400, "WP011", "Dieses Terminpaar wird nicht mehr angeboten.")
        ids.append(int(text))
    return ids


def _check_contact(body: dict) -> None:
    """The contact block is checked for shape only and not kept: in codes mode we hold no
    names or addresses (R4); confirmations go to the address the codes were sent to."""
    contact = body.get("contact")
    if not isinstance(contact, dict):
        raise ItsRefusal(400, "KONTAKT", "Bitte geben Sie die Kontaktdaten an.")
    for name in openapi.CONTACT_FIELDS:
        value = contact.get(name, "")
        if not isinstance(value, str) or len(value) > 200:
            raise ItsRefusal(400, "KONTAKT", f"Die Kontaktangabe {name} ist ungültig.")


@csrf_exempt
@require_POST
@never_cache
@its_view
def book(request: HttpRequest, ags: str) -> HttpResponse:
    """`rest/buchung` {plz, slots, qualifikationen, contact} → 201, and the confirmation
    mail as on the web. Slot taken meanwhile → BU004; the code has a booking → WP009; the
    pair is not offered (any more) → WP011."""
    district = _group(ags)
    body = _json_body(request)
    centres = _centres(district, body.get("plz"))
    code, code_set = _authenticated(request, district)
    slot_ids = _slot_ids(body)
    _check_contact(body)
    if live_pair_for(holder=code_set.holder) is not None:
        raise ItsRefusal(
            400, "WP009", "Für diesen Vermittlungscode ist bereits ein Termin gebucht."
        )
    offered = selectors.offered_pair(
        code_set=code_set, district=district, centres=centres, slot_ids=slot_ids
    )
    if not offered:
        raise ItsRefusal(400, "WP011", "Dieses Terminpaar wird nicht mehr angeboten.")
    try:
        result = code_book_pair(
            code=code,
            district_id=district.pk,
            first_slot_id=slot_ids[0],
            second_slot_id=slot_ids[1] if len(slot_ids) == 2 else None,
            channel=Channel.API,
        )
    except ServiceError as error:
        if error.code == "holder_has_live_pair":
            raise ItsRefusal(
                400, "WP009", "Für diesen Vermittlungscode ist bereits ein Termin gebucht."
            ) from None
        if error.code in NOT_OFFERED:
            raise ItsRefusal(400, "WP011", "Dieses Terminpaar wird nicht mehr angeboten.") from None
        raise _from_service(error) from None
    if not result.booked:  # R11: someone else was faster
        raise ItsRefusal(400, "BU004", "Slot nicht frei")
    return _json({}, status=201)
