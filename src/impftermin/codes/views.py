"""The citizen's pages for a region in codes mode (the Westfalen-Lippe way): postcode →
eligibility → mobile number and SMS PIN → e-mail link → booking codes → book by day →
confirmation; and check, rebook, cancel with a code. Server-rendered, no JavaScript.

The views stay thin: forms check the shape, the services decide. The flow's state lives
in the server-side session: the PIN's token (never the PIN) and, while booking, the codes
typed in (they expire with the session, after an hour)."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from impftermin.booking.forms import (
    SlotChoiceForm,
    labelled_options,
    lost_race,
    option_value,
)
from impftermin.booking.messages import NO_PRINTOUT, WHAT_TO_BRING
from impftermin.booking.selectors import (
    booked_appointments,
    get_district,
    rebook_refusal,
    times_by_day,
)
from impftermin.centres.selectors import get_vaccine, vaccines_offered
from impftermin.codes import forms
from impftermin.codes.selectors import code_set_export
from impftermin.codes.services import (
    booking_party,
    code_book_pair,
    code_booking,
    code_cancel,
    code_rebook,
    code_set_erase,
    code_set_for,
    code_set_lookup,
    codes_book_adjacent,
    email_link_confirm,
    pin_request,
    pin_verify,
)
from impftermin.codes.standby import (
    offer_hours,
    standby_join,
    standby_offer,
    standby_offer_accept,
    standby_position,
)
from impftermin.core.errors import ServiceError
from impftermin.core.flow import forget, recall, remember
from impftermin.core.throttle import client_key
from impftermin.core.views import data_export_response
from impftermin.regions.forms import DistrictForm
from impftermin.regions.models import BookingMode, District, Region
from impftermin.regions.selectors import (
    districts_for_postcode,
    get_region_by_id,
    region_districts,
)
from impftermin.regions.start import district_chosen, postcode_place, region_asked
from impftermin.vaccines.selectors import vaccine_eligibility

FLOW = "codes_flow"  # region, district, eligible vaccines, the PIN's token
BOOKING = "codes_booking"  # codes, district, vaccine, rebook?, booked?
CHECK = "codes_check"  # the code whose booking is shown
DAY_PARAM = "tag"

# A refused link: gone for good (used, expired) or never valid.
LINK_STATUS = {"link_used": 410, "link_expired": 410, "link_invalid": 404}
# A PIN that cannot be used any more: the page offers a new one.
PIN_GONE = {"pin_unknown", "pin_void", "pin_expired", "pin_used"}


# --- start: postcode → region and district (R12) ------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Choose the region (from the home page) or just enter the postcode."""
    region = region_asked(request)
    form = forms.PostcodeForm(request.POST or None)
    context = {"form": form, "region": region}
    if request.method == "GET" or not form.is_valid():
        return render(request, "codes/start.html", context)
    postcode = form.cleaned_data["postcode"].strip()
    try:
        place = postcode_place(postcode=postcode, region=region)
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "codes/start.html", context)
    districts, regions = place.districts, place.regions
    if place.region is None:
        # A postcode across a region's border: the person says where they live.
        return render(request, "codes/start.html", {**context, "regions": regions})
    region = regions[0]
    context["region"] = region
    if region.booking_mode != BookingMode.CODES:
        return render(request, "codes/other_mode.html", {"region": region})
    district, context["district_form"] = district_chosen(request, districts)
    if district is None:
        return render(request, "codes/start.html", context)
    remember(request, FLOW, {"region": region.pk, "district": district.pk, "postcode": postcode})
    return redirect("codes:eligibility")


def _flow_district(request: HttpRequest) -> District | None:
    flow = recall(request, FLOW) or {}
    try:
        return get_district(flow.get("district"), region_id=flow.get("region"))
    except ServiceError:
        return None


# --- eligibility ---------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def eligibility(request: HttpRequest) -> HttpResponse:
    district = _flow_district(request)
    if district is None:
        return redirect("codes:start")
    form = forms.BirthDateForm(request.POST or None)
    context = {"form": form, "district": district}
    if request.method == "GET" or not form.is_valid():
        return render(request, "codes/eligibility.html", context)
    try:
        result = vaccine_eligibility(district=district, birth_date=form.cleaned_data["birth_date"])
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "codes/eligibility.html", context)
    if not result.eligible:
        return render(request, "codes/eligibility.html", {**context, "refused": result})
    flow = recall(request, FLOW) or {}
    remember(request, FLOW, {**flow, "vaccines": [v.pk for v in result.vaccines]})
    return redirect("codes:pin_request")


# --- mobile number → SMS PIN (R2, R3) --------------------------------------------------------


def _flow_vaccines(request: HttpRequest) -> list:
    ids = (recall(request, FLOW) or {}).get("vaccines")
    if not isinstance(ids, list):
        return []
    vaccines = []
    for pk in ids:
        try:
            vaccines.append(get_vaccine(pk))
        except ServiceError:
            continue
    return [v for v in vaccines if v.active]


@never_cache
@require_http_methods(["GET", "POST"])
def pin_request_view(request: HttpRequest) -> HttpResponse:
    district = _flow_district(request)
    vaccines = _flow_vaccines(request)
    if district is None or not vaccines:
        return redirect("codes:eligibility" if district else "codes:start")
    initial = {"vaccine": vaccines[0].pk} if len(vaccines) == 1 else {}
    form = forms.PinRequestForm(
        request.POST or None,
        vaccines=vaccines,
        minutes=district.region.pin_validity_minutes,
        initial=initial,
    )
    context = {"form": form, "district": district, "region": district.region}
    if request.method == "GET" or not form.is_valid():
        return render(request, "codes/pin_request.html", context)
    try:
        sent = pin_request(
            region_id=district.region_id,
            mobile=form.cleaned_data["mobile"],
            email=form.cleaned_data["email"],
            language=translation.get_language(),
            vaccine_id=form.cleaned_data["vaccine"],
            client=client_key(request),
        )
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "codes/pin_request.html", context)
    flow = recall(request, FLOW) or {}
    remember(
        request,
        FLOW,
        {
            **flow,
            "pin_token": sent.token,
            "email": form.cleaned_data["email"].strip(),
            "minutes": district.region.pin_validity_minutes,
        },
    )
    return redirect("codes:pin_enter")


@never_cache
@require_http_methods(["GET", "POST"])
def pin_enter(request: HttpRequest) -> HttpResponse:
    flow = recall(request, FLOW) or {}
    token = flow.get("pin_token")
    if not isinstance(token, str) or not token:
        return redirect("codes:pin_request")
    form = forms.PinForm(request.POST or None)
    district = _flow_district(request)
    context = {
        "form": form,
        "minutes": flow.get("minutes", 10),
        "region": district.region if district else None,
    }
    if request.method == "GET" or not form.is_valid():
        return render(request, "codes/pin_enter.html", context)
    try:
        pin_verify(token=token, pin=form.cleaned_data["pin"], client=client_key(request))
    except ServiceError as error:
        form.add_service_error(error)
        context["pin_gone"] = error.code in PIN_GONE
        return render(request, "codes/pin_enter.html", context)
    remember(request, FLOW, {k: v for k, v in flow.items() if k != "pin_token"})
    return render(request, "codes/pin_done.html", {"email": flow.get("email", "")})


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the verification mail. GET only shows a button: mail scanners that
    open links must not use up the single-use link; the POST confirms."""
    if request.method == "GET":
        return render(request, "codes/confirm_email.html", {"state": "ask"})
    try:
        email_link_confirm(token=token)
    except ServiceError as error:
        return render(
            request,
            "codes/confirm_email.html",
            {"state": "refused", "error": error},
            status=LINK_STATUS.get(error.code, 400),
        )
    return render(request, "codes/confirm_email.html", {"state": "done"})


# --- booking with codes (R6, R7, R9, R11) ----------------------------------------------------


def _party_district(
    form: forms.BookingCodesForm, region: Region, request: HttpRequest
) -> tuple[int | None, DistrictForm | None]:
    """The district for the booking from the postcode (R9). A postcode we do not know
    does not reject the booking (R12): the person picks the district instead."""
    try:
        districts = districts_for_postcode(
            region_id=region.pk, postcode=form.cleaned_data["postcode"]
        )
    except ServiceError as error:
        if error.code != "postcode_unknown":
            form.add_service_error(error)
            return None, None
        districts = region_districts(region_id=region.pk)
    district, district_form = district_chosen(request, districts)
    return (district.pk if district else None), district_form


@never_cache
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    """Enter the code(s) and postcode; one code per person, up to four side by side."""
    form = forms.BookingCodesForm(request.POST or None)
    context = {"form": form}
    if request.method == "GET" or not form.is_valid():
        return render(request, "codes/book.html", context)
    code_sets = []
    for name, code in form.codes_by_field():
        try:
            code_sets.append(code_set_lookup(code, client=client_key(request)))
        except ServiceError as error:
            form.add_error(name, str(error.message))
    if form.errors:
        return render(request, "codes/book.html", context)
    try:
        vaccine = booking_party(code_sets=code_sets)
    except ServiceError as error:
        form.add_error("code_1", str(error.message))
        context["has_booking"] = error.code == "holder_has_live_pair"
        return render(request, "codes/book.html", context)
    region = get_region_by_id(region_id=code_sets[0].region_id)
    district_id, district_form = _party_district(form, region, request)
    if district_id is None:
        return render(request, "codes/book.html", {**context, "district_form": district_form})
    if vaccine is None:
        # Codes from before the vaccine choice: any offered vaccine with as many doses.
        single = code_sets[0].single_dose
        offered = [v for v in vaccines_offered(district_id=district_id) if (v.doses == 1) == single]
        if not offered:
            form.add_error(None, str(NO_VACCINE))
            return render(request, "codes/book.html", context)
        vaccine = offered[0]
    remember(
        request,
        BOOKING,
        {
            "codes": form.codes(),
            "district": district_id,
            "vaccine": vaccine.pk,
            "nonce": secrets.token_urlsafe(8),
        },
    )
    return redirect("codes:choose")


NO_VACCINE = _("In Ihrem Kreis wird dieser Impfstoff derzeit nicht angeboten.")


def _booking(request: HttpRequest) -> dict | None:
    booking = recall(request, BOOKING)
    codes = (booking or {}).get("codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        return None
    return booking


@never_cache
@require_http_methods(["GET", "POST"])
def choose(request: HttpRequest) -> HttpResponse:
    """Free times by day in the person's district; picking one books the pair, with the
    second appointment inside the vaccine's interval (R6)."""
    booking = _booking(request)
    if booking is None:
        return redirect("codes:book")
    try:
        district = get_district(booking["district"])
        vaccine = get_vaccine(booking["vaccine"])
    except ServiceError:
        return redirect("codes:book")
    party_size = len(booking["codes"])
    # A household books side by side and needs both doses for everyone (R7); one person
    # may take a first appointment alone, the second is then given at the centre (R6).
    require_second = party_size > 1 or booking.get("rebook", False)
    times = times_by_day(
        requested_day=request.GET.get(DAY_PARAM) or request.POST.get(DAY_PARAM),
        district_id=district.pk,
        vaccine=vaccine,
        days_ahead=district.region.release_days_ahead,
        party_size=party_size,
        require_second=require_second,
    )
    days, day, options = times.days, times.day, times.options
    form = SlotChoiceForm(request.POST or None, options=[(option_value(o), "") for o in options])
    context = {
        "form": form,
        "district": district,
        "vaccine": vaccine,
        "party_size": party_size,
        "rebook": booking.get("rebook", False),
        "days": days,
        "day": day,
        "day_param": DAY_PARAM,
        "nonce": booking.get("nonce", ""),
        "options": labelled_options(options),
        # R8: nothing free for one person booking anew → the standby list.
        "standby": party_size == 1 and not booking.get("rebook"),
    }
    if request.method == "GET" or not form.is_valid():
        return render(request, "codes/choose.html", context)
    if request.POST.get("nonce") != booking.get("nonce"):
        # The page was made for another booking (a second tab started one since).
        return redirect("codes:choose")
    first_slot_id, second_slot_id = form.slot_ids()
    codes = booking["codes"]
    try:
        if booking.get("rebook"):
            result = code_rebook(
                code=codes[0], first_slot_id=first_slot_id, second_slot_id=second_slot_id
            )
        elif party_size == 1:
            result = code_book_pair(
                code=codes[0],
                district_id=district.pk,
                first_slot_id=first_slot_id,
                second_slot_id=second_slot_id,
                allow_first_only=True,
            )
        else:
            result = codes_book_adjacent(
                codes=codes,
                district_id=district.pk,
                first_slot_id=first_slot_id,
                second_slot_id=second_slot_id,
            )
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "codes/choose.html", context)
    if not result.booked:
        return render(request, "codes/choose.html", {**context, **lost_race(result)})
    remember(request, BOOKING, {**booking, "booked": True})
    return redirect("codes:confirmation")


def _booked_pairs(codes: list[str]) -> list:
    pairs = []
    for code in codes:
        try:
            pair = code_booking(code=code)
        except ServiceError:
            pair = None
        if pair is not None:
            pairs.append(pair)
    return pairs


@never_cache
@require_GET
def confirmation(request: HttpRequest) -> HttpResponse:
    booking = _booking(request)
    if booking is None or not booking.get("booked"):
        return redirect("codes:book")
    pairs = _booked_pairs(booking["codes"])
    if not pairs:  # cancelled meanwhile, e.g. in another tab
        return redirect("codes:check")
    return render(
        request,
        "codes/confirmation.html",
        _confirmation(pairs, rebook=booking.get("rebook", False)),
    )


def _confirmation(pairs: list, *, rebook: bool = False) -> dict:
    return {
        "bookings": [(pair, booked_appointments(pair)) for pair in pairs],
        "what_to_bring": WHAT_TO_BRING,
        "no_printout": NO_PRINTOUT,
        "rebook": rebook,
    }


# --- check, rebook, cancel with the code (R4, R10) ---------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def check(request: HttpRequest) -> HttpResponse:
    """'Prüfung Terminreservierung': the booking behind a code."""
    form = forms.CheckCodeForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return render(request, "codes/check.html", {"form": form})
    try:
        code_set_lookup(form.cleaned_data["code"], client=client_key(request))
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "codes/check.html", {"form": form})
    remember(request, CHECK, form.cleaned_data["code"])
    return redirect("codes:booking")


class _NotChecked(Exception):
    pass


def _checked_booking(request: HttpRequest) -> tuple[str, object]:
    """The code the person checked in this session, and its live pair (or None);
    _NotChecked when there is no such code (the page sends them to the check)."""
    code = recall(request, CHECK, kind=str)
    if code is None:
        raise _NotChecked
    try:
        return code, code_booking(code=code)
    except ServiceError:
        raise _NotChecked from None


@never_cache
@require_http_methods(["GET", "POST"])
def booking_detail(request: HttpRequest) -> HttpResponse:
    """The booking with the actions on it; POST `action=rebook` starts a rebook."""
    try:
        code, pair = _checked_booking(request)
    except _NotChecked:
        return redirect("codes:check")
    if request.method == "POST" and pair is not None and request.POST.get("action") == "rebook":
        remember(
            request,
            BOOKING,
            {
                "codes": [code],
                "district": pair.centre.district_id,
                "vaccine": pair.vaccine_id,
                "rebook": True,
                "nonce": secrets.token_urlsafe(8),
            },
        )
        return redirect("codes:choose")
    context = {"pair": pair, "appointments": booked_appointments(pair) if pair else []}
    if pair is not None:
        # The engine's own rule (R20), so the button shows only when it can work.
        context["rebook_refusal"] = rebook_refusal(
            pair=pair, appointments=list(pair.appointments.all()), now=timezone.now()
        )
    return render(request, "codes/booking.html", context)


@never_cache
@require_GET
def data_export(request: HttpRequest) -> HttpResponse:
    """Everything we hold about the person behind the checked code, as a file (GDPR
    Art. 15)."""
    try:
        code, _pair = _checked_booking(request)
    except _NotChecked:
        return redirect("codes:check")
    return data_export_response(code_set_export(code_set_for(code)))


@never_cache
@require_http_methods(["GET", "POST"])
def erase(request: HttpRequest) -> HttpResponse:
    """Erase the person's contact data on request (GDPR Art. 17): ask once more, then
    cancel a booked pair, leave the standby list and erase the address and number."""
    try:
        code, pair = _checked_booking(request)
    except _NotChecked:
        return redirect("codes:check")
    context = {"pair": pair, "appointments": booked_appointments(pair) if pair else []}
    if request.method == "GET":
        return render(request, "codes/erase.html", context)
    try:
        code_set_erase(code=code)
    except ServiceError as error:
        return render(request, "codes/erase.html", {**context, "error": error}, status=409)
    forget(request, CHECK, BOOKING)  # nothing of the person stays in the browser
    return render(request, "codes/erased.html")


@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest) -> HttpResponse:
    """Ask once more, then cancel; the seats are free for others at once."""
    try:
        code, pair = _checked_booking(request)
    except _NotChecked:
        return redirect("codes:check")
    if request.method == "GET":
        if pair is None:
            return redirect("codes:booking")
        return render(
            request, "codes/cancel.html", {"pair": pair, "appointments": booked_appointments(pair)}
        )
    try:
        pair = code_cancel(code=code)
    except ServiceError as error:
        return render(request, "codes/cancel.html", {"error": error}, status=409)
    forget(request, CHECK, BOOKING)  # nothing of the booking stays in the browser
    return render(request, "codes/cancelled.html", {"pair": pair})


# --- standby list (R8) -------------------------------------------------------------------


@never_cache
@require_POST
def standby_join_view(request: HttpRequest) -> HttpResponse:
    """From the times page when nothing is free: join the district's standby list."""
    booking = _booking(request)
    if booking is None or len(booking["codes"]) != 1 or booking.get("rebook"):
        return redirect("codes:book")
    try:
        entry = standby_join(
            code=booking["codes"][0], district_id=booking["district"], vaccine_id=booking["vaccine"]
        )
    except ServiceError as error:
        return render(request, "codes/standby_joined.html", {"error": error}, status=409)
    return render(
        request,
        "codes/standby_joined.html",
        {"entry": entry, "position": standby_position(entry), "hours": offer_hours()},
    )


OFFER_STATUS = {"offer_invalid": 404, "offer_used": 410, "offer_expired": 410}


@never_cache
@require_http_methods(["GET", "POST"])
def standby_offer_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link from an offer mail. GET shows the offer (mail scanners open links); the
    POST books it, or, after a lost race, the free time chosen instead (R11)."""
    try:
        offer = standby_offer(token=token)
    except ServiceError as error:
        return render(
            request,
            "codes/standby_offer.html",
            {"error": error},
            status=OFFER_STATUS.get(error.code, 400),
        )
    context = {"offer": offer, "vaccine": offer.entry.vaccine}
    if request.method == "GET":
        return render(request, "codes/standby_offer.html", context)
    chosen = (None, None)
    if "option" in request.POST:  # a time chosen after a lost race
        # A mailed one-time link, not a page for bots: no proof of work.
        form = SlotChoiceForm(request.POST, options=[], proof_of_work=False)
        if not form.is_valid():
            return render(request, "codes/standby_offer.html", {**context, "form": form})
        chosen = form.slot_ids()
    try:
        result = standby_offer_accept(
            token=token, first_slot_id=chosen[0], second_slot_id=chosen[1]
        )
    except ServiceError as error:
        return render(
            request,
            "codes/standby_offer.html",
            {"error": error},
            status=OFFER_STATUS.get(error.code, 400),
        )
    if not result.booked:
        return render(
            request,
            "codes/standby_offer.html",
            {**context, **lost_race(result, proof_of_work=False)},
        )
    return render(request, "codes/confirmation.html", _confirmation(result.pairs))
