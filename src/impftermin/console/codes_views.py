"""The console for codes-mode regions (Westfalen-Lippe, issue 6 item 2): an agent books for
a caller through the same engine and capacity as online (R1), side by side for up to four
people (R7), and reads the new codes out, spelled; finds a booking only by its code (R4),
and rebooks or cancels it. Every look-up and change is audited with the call's reason;
wrong codes are throttled per agent and per code. The views stay thin: the services in
`codes.services` decide, these pages only ask and show."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from impftermin.booking.forms import (
    SlotChoiceForm,
    labelled_options,
    lost_race,
    option_value,
)
from impftermin.booking.selectors import (
    booked_appointments,
    get_district,
    rebook_refusal,
    times_by_day,
)
from impftermin.centres.selectors import get_vaccine
from impftermin.codes.services import OTHER_DISTRICT, code_booking, format_code
from impftermin.console import codes_forms as forms
from impftermin.console.codes_services import (
    code_cancel_for_caller,
    code_lookup,
    code_rebook_for_caller,
    codes_book_for_caller,
    pair_viewed,
)
from impftermin.console.views import CONSOLE
from impftermin.core.errors import ServiceError
from impftermin.core.flow import forget, recall, remember
from impftermin.core.identifiers import spelled
from impftermin.regions.models import BookingMode
from impftermin.regions.start import district_chosen, postcode_place
from impftermin.staff.decorators import staff_required
from impftermin.vaccines.selectors import vaccine_eligibility

BOOK = "console_codes_book"  # the booking for a caller: district, vaccine, party, e-mail, why
CALL = "console_codes_call"  # the code found in this call, and the call's reason
REBOOK = "console_codes_rebook"  # a rebook under way: its district, vaccine, page nonce
DAY_PARAM = "tag"

NOT_CODES_MODE = _("Diese Postleitzahl gehört zu keiner Region mit Vermittlungscodes.")
NO_BOOKING = _("Mit diesem Code ist kein Termin gebucht.")
CODE_REPEATED = _("Jede Person kann nur einmal gebucht werden.")
NO_COMMON_VACCINE = _("Für diese Personen gibt es keinen gemeinsamen Impfstoff.")

console = staff_required(permission=CONSOLE)


def _times(request: HttpRequest, *, district, vaccine, party_size: int, require_second: bool):
    """The free days and, for the chosen day, the free times (the engine's own lists)."""
    times = times_by_day(
        requested_day=request.GET.get(DAY_PARAM) or request.POST.get(DAY_PARAM),
        district_id=district.pk,
        vaccine=vaccine,
        days_ahead=district.region.release_days_ahead,
        party_size=party_size,
        require_second=require_second,
    )
    days, day, options = times.days, times.day, times.options
    form = SlotChoiceForm(
        request.POST or None,
        options=[(option_value(o), "") for o in options],
        proof_of_work=False,
    )
    return form, {
        "form": form,
        "district": district,
        "vaccine": vaccine,
        "party_size": party_size,
        "days": days,
        "day": day,
        "day_param": DAY_PARAM,
        "options": labelled_options(options),
    }


# --- book for a caller (R1, R7) --------------------------------------------------------------


def _eligible_vaccines(form: forms.CallerForm, district) -> list | None:
    """The vaccines every person may have, by age; None (with the errors on the form)
    when someone may have none."""
    common = None
    for number, birth_date in enumerate(form.birth_dates(), start=1):
        field = f"birth_date_{number}"
        try:
            result = vaccine_eligibility(district=district, birth_date=birth_date)
        except ServiceError as error:
            form.add_error(field, str(error.message))
            continue
        if not result.eligible:
            form.add_error(field, " ".join(str(r) for r in result.reasons))
            continue
        ids = [v.pk for v in result.vaccines]
        common = list(result.vaccines) if common is None else [v for v in common if v.pk in ids]
    if form.errors:
        return None
    if not common:
        form.add_error(None, str(NO_COMMON_VACCINE))
        return None
    return common


@never_cache
@require_http_methods(["GET", "POST"])
@console
def book(request: HttpRequest) -> HttpResponse:
    """Postcode → district (when several) → vaccine by age (when several) → the times."""
    form = forms.CallerForm(request.POST or None)
    context = {"form": form}
    if request.method == "GET" or not form.is_valid():
        return render(request, "console/codes/book.html", context)
    try:
        place = postcode_place(postcode=form.cleaned_data["postcode"].strip(), region=None)
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "console/codes/book.html", context)
    districts = [d for d in place.districts if d.region.booking_mode == BookingMode.CODES]
    if not districts:
        form.add_error("postcode", str(NOT_CODES_MODE))
        return render(request, "console/codes/book.html", context)
    district, context["district_form"] = district_chosen(request, districts)
    if district is None:
        return render(request, "console/codes/book.html", context)
    vaccines = _eligible_vaccines(form, district)
    if vaccines is None:
        return render(request, "console/codes/book.html", context)
    if len(vaccines) == 1:
        vaccine = vaccines[0]
    else:
        vaccine_form = forms.VaccineForm(
            request.POST if "vaccine" in request.POST else None, vaccines=vaccines
        )
        context["vaccine_form"] = vaccine_form
        if not (vaccine_form.is_bound and vaccine_form.is_valid()):
            return render(request, "console/codes/book.html", context)
        vaccine = next(v for v in vaccines if v.pk == vaccine_form.cleaned_data["vaccine"])
    remember(
        request,
        BOOK,
        {
            "district": district.pk,
            "vaccine": vaccine.pk,
            "party": len(form.birth_dates()),
            "email": form.cleaned_data["email"],
            "why": form.cleaned_data["reason"],
            "nonce": secrets.token_urlsafe(8),
        },
    )
    return redirect("console:codes_book_times")


def _spelled_codes(codes: list[str]) -> list[dict]:
    language = translation.get_language() or "de"
    return [
        {"dose": dose, "code": format_code(code), "spelled": spelled(format_code(code), language)}
        for dose, code in enumerate(codes, start=1)
    ]


@never_cache
@require_http_methods(["GET", "POST"])
@console
def book_times(request: HttpRequest) -> HttpResponse:
    """Free times for the whole party; choosing one issues the codes and books, all or
    nothing; the page then shows the codes, big and spelled, to read out (once)."""
    booking = recall(request, BOOK)
    try:
        district = get_district((booking or {}).get("district"))
        vaccine = get_vaccine((booking or {}).get("vaccine"))
        party_size = int(booking["party"])
    except (ServiceError, KeyError, TypeError, ValueError):
        return redirect("console:codes_book")
    form, context = _times(
        request,
        district=district,
        vaccine=vaccine,
        party_size=party_size,
        require_second=party_size > 1,
    )
    context["nonce"] = booking.get("nonce", "")
    if request.method == "GET" or not form.is_valid():
        return render(request, "console/codes/times.html", context)
    if request.POST.get("nonce") != booking.get("nonce"):
        return redirect("console:codes_book_times")  # a page of an earlier booking
    first_slot_id, second_slot_id = form.slot_ids()
    try:
        booked = codes_book_for_caller(
            user=request.user,
            why=booking.get("why") or "",
            region_id=district.region_id,
            vaccine_id=vaccine.pk,
            party_size=party_size,
            district_id=district.pk,
            first_slot_id=first_slot_id,
            second_slot_id=second_slot_id,
            email=booking.get("email") or "",
            language=translation.get_language() or "de",
        )
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "console/codes/times.html", context)
    if not booked.result.booked:
        return render(
            request,
            "console/codes/times.html",
            {**context, **lost_race(booked.result, proof_of_work=False)},
        )
    forget(request, BOOK)
    people = [
        {"pair": pair, "appointments": booked_appointments(pair), "codes": _spelled_codes(p.codes)}
        for p, pair in zip(booked.people, booked.result.pairs, strict=True)
    ]
    return render(
        request,
        "console/codes/booked.html",
        {"people": people, "email": booking.get("email") or ""},
    )


# --- look up by code only (R4) ------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@console
def lookup(request: HttpRequest) -> HttpResponse:
    """A booking is found by its code, nothing else (R4). Every attempt is audited;
    wrong codes are throttled per agent and per code."""
    form = forms.LookupForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return render(request, "console/codes/lookup.html", {"form": form})
    why = form.cleaned_data["reason"]
    forget(request, CALL, REBOOK)  # a new look-up starts a new call
    try:
        code, _code_set = code_lookup(user=request.user, code=form.cleaned_data["code"], why=why)
    except ServiceError as error:
        form.add_service_error(error)
        status = 429 if error.code == "throttled" else 200
        return render(request, "console/codes/lookup.html", {"form": form}, status=status)
    remember(request, CALL, {"code": code, "why": why})
    return redirect("console:codes_booking")


def _call(request: HttpRequest) -> dict | None:
    call = recall(request, CALL)
    if not isinstance((call or {}).get("code"), str) or not isinstance(call.get("why"), str):
        return None
    return call


def _together(request: HttpRequest, form: forms.RebookForm, call: dict, pair) -> list[str] | None:
    """The codes of the others who move with this pair (R7), each found like a look-up
    (throttled, audited), another person's, with a booking in the same district (R9); None
    (with the errors on the form) if not."""
    codes, people = [], {pair.holder}
    for field, text in form.other_codes():
        try:
            code, code_set = code_lookup(user=request.user, code=text, why=call["why"])
            if code_set.holder in people:
                raise ServiceError("code_repeated", CODE_REPEATED, field=field)
            other = code_booking(code=code)
            if other is None:
                raise ServiceError("no_booking", NO_BOOKING, field=field)
            if other.centre.district_id != pair.centre.district_id:  # R9
                raise ServiceError("codes_other_district", OTHER_DISTRICT, field=field)
        except ServiceError as error:
            form.add_error(field, str(error.message))
            continue
        codes.append(code)
        people.add(code_set.holder)
    return None if form.errors else codes


@never_cache
@require_http_methods(["GET", "POST"])
@console
def booking_detail(request: HttpRequest) -> HttpResponse:
    """The booking of the code found in this call, with rebook (alone, or together with
    the others booked side by side, R7) and cancel."""
    call = _call(request)
    if call is None:
        return redirect("console:codes_lookup")
    try:
        pair = code_booking(code=call["code"])
    except ServiceError:
        return redirect("console:codes_lookup")
    form = forms.RebookForm(request.POST if request.method == "POST" else None)
    context = {"pair": pair, "appointments": booked_appointments(pair) if pair else []}
    if pair is not None:
        pair_viewed(user=request.user, pair=pair, why=call["why"])
        # The engine's own rule, so the button shows only when it can work.
        context["rebook_refusal"] = rebook_refusal(
            pair=pair, appointments=list(pair.appointments.all()), now=timezone.now()
        )
        if request.method == "POST" and form.is_valid() and not context["rebook_refusal"]:
            together = _together(request, form, call, pair)
            if together is not None:
                remember(
                    request,
                    REBOOK,
                    {
                        "district": pair.centre.district_id,
                        "vaccine": pair.vaccine_id,
                        "together": together,
                        "nonce": secrets.token_urlsafe(8),
                    },
                )
                return redirect("console:codes_rebook")
    context.update(form=form, rebooked=request.GET.get("umgebucht") == "1")
    return render(request, "console/codes/booking.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@console
def rebook(request: HttpRequest) -> HttpResponse:
    """New times for the pair, side by side for those moving with it; the engine claims
    the new pairs before it frees the old ones and refuses what the codes flow refuses (too
    late, already under way). All move, or none."""
    call, state = _call(request), recall(request, REBOOK)
    if call is None or state is None:
        return redirect("console:codes_booking" if call else "console:codes_lookup")
    together = state.get("together") or []
    if not isinstance(together, list) or not all(isinstance(c, str) for c in together):
        return redirect("console:codes_booking")
    try:
        district = get_district(state.get("district"))
        vaccine = get_vaccine(state.get("vaccine"))
    except ServiceError:
        return redirect("console:codes_booking")
    form, context = _times(
        request,
        district=district,
        vaccine=vaccine,
        party_size=1 + len(together),
        require_second=True,
    )
    context.update(nonce=state.get("nonce", ""), rebook=True)
    if request.method == "GET" or not form.is_valid():
        return render(request, "console/codes/times.html", context)
    if request.POST.get("nonce") != state.get("nonce"):
        return redirect("console:codes_rebook")
    first_slot_id, second_slot_id = form.slot_ids()
    try:
        result = code_rebook_for_caller(
            user=request.user,
            code=call["code"],
            first_slot_id=first_slot_id,
            second_slot_id=second_slot_id,
            together_with=together,
            why=call["why"],
        )
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "console/codes/times.html", context)
    if not result.booked:
        return render(
            request,
            "console/codes/times.html",
            {**context, **lost_race(result, proof_of_work=False)},
        )
    forget(request, REBOOK)
    return redirect(f"{reverse('console:codes_booking')}?umgebucht=1")


@never_cache
@require_http_methods(["GET", "POST"])
@console
def cancel(request: HttpRequest) -> HttpResponse:
    """Ask once more, then cancel: the seats are free for others at once."""
    call = _call(request)
    if call is None:
        return redirect("console:codes_lookup")
    try:
        pair = code_booking(code=call["code"])
    except ServiceError:
        return redirect("console:codes_lookup")
    if request.method == "GET":
        if pair is None:
            return redirect("console:codes_booking")
        pair_viewed(user=request.user, pair=pair, why=call["why"])
        return render(
            request,
            "console/codes/cancel.html",
            {"pair": pair, "appointments": booked_appointments(pair)},
        )
    try:
        pair = code_cancel_for_caller(user=request.user, code=call["code"], why=call["why"])
    except ServiceError as error:
        return render(request, "console/codes/cancel.html", {"error": error}, status=409)
    forget(request, CALL, REBOOK)
    return render(request, "console/codes/cancelled.html", {"pair": pair})


@require_POST
@console
def call_end(request: HttpRequest) -> HttpResponse:
    """The call is over: nothing of it stays in the agent's session."""
    forget(request, CALL, REBOOK, BOOK)
    return redirect("console:home")
