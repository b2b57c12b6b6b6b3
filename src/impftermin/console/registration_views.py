"""The console for regions in assignment mode (Hessen, issue 6 item 3): find a
registration only by Vorgangskennung and date of birth (R20), see what the call needs,
book (R18), rebook (R20), cancel (R22), delete (R23), link a couple (R19), and register a
caller by phone without password (R13, R17, R21).

The registration found is kept in the session for this call only; a new lookup or "end
call" replaces it. Every look at personal data and every change is audited with the call's
reason (console/registration_services.py). Views stay thin: forms check the shape, the
services decide."""

from __future__ import annotations

from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from impftermin.booking.forms import lost_race
from impftermin.booking.selectors import (
    booked_appointments,
    in_progress_refusal,
    rebook_refusal,
)
from impftermin.console import registration_services as console
from impftermin.console.forms import (
    CallReason,
    CoupleForm,
    FindRegistrationForm,
    PhoneRegistrationForm,
    PhoneStartForm,
)
from impftermin.console.views import CONSOLE
from impftermin.core.errors import ServiceError
from impftermin.core.flow import forget, recall, remember
from impftermin.regions.start import region_asked
from impftermin.registrations.flow import (
    OTHER_MODE,
    SHOW,
    start_state,
    start_step,
    times_choice,
)
from impftermin.registrations.models import Registration, RegistrationStatus
from impftermin.registrations.selectors import (
    live_pair,
    live_registration,
    newest_letter,
)
from impftermin.staff.decorators import staff_required

CALL = "console_registration_call"  # the registration of this call and the call's reason
FLOW = "console_registration_flow"  # phone registration: region, district, postcode, …
CHOICE = "console_registration_choice"  # the nonce of the times page shown
DONE = ("gebucht", "umgebucht", "storniert", "verbunden", "getrennt")  # after an action


def _render(request, template, context, *, status=200, error: ServiceError | None = None):
    """A page; a throttled refusal answers 429 with Retry-After."""
    response = render(request, f"console/registrations/{template}", context, status=status)
    if error is not None and error.code == "throttled":
        response.status_code = 429
        response["Retry-After"] = str(error.params.get("retry_after", 60))
    return response


def _start_call(request: HttpRequest, registration: Registration, why: str) -> None:
    forget(request, CHOICE)
    remember(request, CALL, {"id": registration.pk, "why": why})


def _on_call(view):
    """Console staff only; the registration of the current call is passed on, or the agent
    is sent to the lookup."""

    @staff_required(permission=CONSOLE)
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        call = recall(request, CALL) or {}
        registration = live_registration(call.get("id"))
        why = call.get("why")
        if registration is None or why not in CallReason.values:
            forget(request, CALL, CHOICE)
            return redirect("console:registration_find")
        return view(request, registration, why, *args, **kwargs)

    return wrapped


def _detail_url(flag: str | None = None) -> str:
    url = reverse("console:registration_detail")
    return f"{url}?{flag}=1" if flag else url


# --- finding a registration ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required(permission=CONSOLE)
def registration_find(request: HttpRequest) -> HttpResponse:
    """Vorgangskennung and date of birth (R20), and the call's reason; nothing else."""
    form = FindRegistrationForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return _render(request, "find.html", {"form": form})
    data = form.cleaned_data
    try:
        registration = console.registration_lookup(
            user=request.user,
            vorgangskennung=data["vorgangskennung"],
            birth_date=data["birth_date"],
            why=data["reason"],
        )
    except ServiceError as error:
        form.add_service_error(error)
        return _render(request, "find.html", {"form": form}, error=error)
    _start_call(request, registration, data["reason"])
    return redirect("console:registration_detail")


@require_POST
@staff_required(permission=CONSOLE)
def registration_end(request: HttpRequest) -> HttpResponse:
    """The call is over: the registration leaves the agent's session."""
    forget(request, CALL, CHOICE, FLOW)
    return redirect("console:registration_find")


@require_http_methods(["GET", "POST"])
@_on_call
def registration_detail(request: HttpRequest, registration: Registration, why: str):
    """What the call needs: Vorgangskennung, name, status, centre, vaccine, the live pair
    and the newest letter (R12), the partner (R19). Contact data only on request (POST,
    audited separately)."""
    show_contact = request.method == "POST" and request.POST.get("show") == "contact"
    console.registration_viewed(
        user=request.user,
        registration=registration,
        why=why,
        detail="contact" if show_contact else "",
    )
    pair = live_pair(registration)
    appointments = list(pair.appointments.all()) if pair else []
    letter = newest_letter(registration)
    vorgangskennung, spelled = console.grouped_and_spelled(
        registration.vorgangskennung, request.LANGUAGE_CODE
    )
    context = {
        "registration": registration,
        "why": why,
        "vorgangskennung": vorgangskennung,
        "spelled": spelled,
        "pair": pair,
        "appointments": booked_appointments(pair) if pair else [],
        "letter": letter,
        "letter_valid": letter is not None and pair is not None and letter.pair_id == pair.pk,
        "partner": console.grouped_and_spelled(registration.partner.vorgangskennung, "de")[0]
        if registration.partner_id
        else None,
        "show_contact": show_contact,
        "rebook_refusal": rebook_refusal(pair=pair, appointments=appointments, now=timezone.now())
        if pair
        else None,
        "cancel_refusal": in_progress_refusal(appointments) if pair else None,
        "done": next((flag for flag in DONE if flag in request.GET), None),
    }
    return _render(request, "detail.html", context)


# --- actions on it ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@_on_call
def registration_choose(request: HttpRequest, registration: Registration, why: str):
    """Free times at the person's centre by day, as on the citizen's page: book when
    waiting (R18), or move the pair (R20: the engine refuses within the cut-off)."""
    if registration.status == RegistrationStatus.REVIEW:
        return redirect("console:registration_detail")
    choice = times_choice(request, registration, key=CHOICE, proof_of_work=False)
    form, rebook, nonce = choice.form, choice.rebook, choice.nonce
    context = {
        **choice.context,
        "why": why,
        "pair": choice.pair,
        "appointments": booked_appointments(choice.pair) if choice.pair else [],
    }
    if choice.refusal:
        return _render(request, "choose.html", {**context, "refusal": choice.refusal}, status=409)
    if request.method == "GET" or not form.is_valid():
        return _render(request, "choose.html", context)
    if request.POST.get("nonce") != nonce:
        return redirect("console:registration_choose")  # a page made before (another tab)
    first_slot_id, second_slot_id = form.slot_ids()
    try:
        result = console.registration_choose_by_phone(
            user=request.user,
            registration_id=registration.pk,
            first_slot_id=first_slot_id,
            second_slot_id=second_slot_id,
            rebook=rebook,
            why=why,
        )
    except ServiceError as error:
        form.add_service_error(error)
        return _render(request, "choose.html", context, status=409)
    if not result.booked:
        return _render(
            request, "choose.html", {**context, **lost_race(result, proof_of_work=False)}
        )
    forget(request, CHOICE)
    return redirect(_detail_url("umgebucht" if rebook else "gebucht"))


@require_http_methods(["GET", "POST"])
@_on_call
def registration_cancel(request: HttpRequest, registration: Registration, why: str):
    """R22, said plainly before confirming: the registration stays in the pool."""
    pair = live_pair(registration)
    if pair is None:
        return redirect("console:registration_detail")
    context = {
        "registration": registration,
        "why": why,
        "pair": pair,
        "appointments": booked_appointments(pair),
    }
    if request.method == "GET":
        return _render(request, "cancel.html", context)
    try:
        console.registration_cancel_by_phone(
            user=request.user, registration_id=registration.pk, why=why
        )
    except ServiceError as error:
        return _render(request, "cancel.html", {**context, "error": error}, status=409)
    return redirect(_detail_url("storniert"))


@require_http_methods(["GET", "POST"])
@_on_call
def registration_delete(request: HttpRequest, registration: Registration, why: str):
    """R23, after confirming: out of the pool for good, personal data erased."""
    context = {"registration": registration, "why": why, "pair": live_pair(registration)}
    if request.method == "GET":
        return _render(request, "delete.html", context)
    try:
        console.registration_delete_by_phone(
            user=request.user, registration_id=registration.pk, why=why
        )
    except ServiceError as error:
        return _render(request, "delete.html", {**context, "error": error}, status=409)
    forget(request, CALL, CHOICE)
    return _render(request, "deleted.html", {})


@require_http_methods(["GET", "POST"])
@_on_call
def registration_couple(request: HttpRequest, registration: Registration, why: str):
    """R19: link with the partner's Vorgangskennung and date of birth; pairs side by side."""
    form = CoupleForm(request.POST or None)
    context = {"form": form, "registration": registration, "why": why}
    if registration.partner_id is not None:
        return redirect("console:registration_detail")
    if request.method == "GET" or not form.is_valid():
        return _render(request, "couple.html", context)
    try:
        console.registrations_couple_by_phone(
            user=request.user,
            registration_id=registration.pk,
            partner_vorgangskennung=form.cleaned_data["partner_vorgangskennung"],
            partner_birth_date=form.cleaned_data["partner_birth_date"],
            why=why,
        )
    except ServiceError as error:
        form.add_service_error(error)
        return _render(request, "couple.html", context, status=409, error=error)
    return redirect(_detail_url("verbunden"))


@require_POST
@_on_call
def registration_uncouple(request: HttpRequest, registration: Registration, why: str):
    try:
        console.registration_uncouple_by_phone(
            user=request.user, registration_id=registration.pk, why=why
        )
    except ServiceError:
        return redirect("console:registration_detail")
    return redirect(_detail_url("getrennt"))


# --- registering a caller (R13, R17, R21) -----------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required(permission=CONSOLE)
def registration_new(request: HttpRequest) -> HttpResponse:
    """Postcode (region and district, R12) and date of birth (eligibility) first."""
    region = region_asked(request)
    form = PhoneStartForm(request.POST or None)
    context = {"form": form, "region": region}
    if request.method == "GET" or not form.is_valid():
        return _render(request, "new.html", context)
    outcome = start_step(request, form, context, key=FLOW)
    if outcome == OTHER_MODE:
        return _render(request, "new.html", {**context, "other_mode": True})
    if outcome == SHOW:
        return _render(request, "new.html", context)
    return redirect("console:registration_new_details")


def _flow(request: HttpRequest) -> dict | None:
    return start_state(request, key=FLOW)


@require_http_methods(["GET", "POST"])
@staff_required(permission=CONSOLE)
def registration_new_details(request: HttpRequest) -> HttpResponse:
    """Person, address, centre, vaccine, e-mail (optional, R17) and language; no password
    (R21)."""
    flow = _flow(request)
    if flow is None:
        return redirect("console:registration_new")
    form = PhoneRegistrationForm(
        request.POST or None, centres=flow["centres"], vaccines=flow["vaccines"]
    )
    context = {"form": form, "flow": flow}
    if request.method == "GET" or not form.is_valid():
        return _render(request, "new_details.html", context)
    data = form.cleaned_data
    try:
        registration = console.registration_register_by_phone(
            user=request.user,
            why=CallReason.REGISTER,
            region_id=flow["district"].region_id,
            first_name=data["first_name"],
            last_name=data["last_name"],
            birth_date=flow["birth_date"],
            street=data["street"],
            postcode=flow["postcode"],
            city=data["city"],
            residence=data["residence"],
            centre_id=data["centre"],
            vaccine_id=data["vaccine"],
            email=data["email"],
            mobile=data["mobile"],
            single_dose=data["single_dose"],
            for_someone_else=data["for_someone_else"],
            language=data["language"],
        )
    except ServiceError as error:
        form.add_service_error(error)
        return _render(request, "new_details.html", context, status=409, error=error)
    forget(request, FLOW)
    _start_call(request, registration, CallReason.REGISTER)
    return redirect("console:registration_created")


@require_http_methods(["GET"])
@_on_call
def registration_created(request: HttpRequest, registration: Registration, why: str):
    """The new Vorgangskennung, big and spelled for reading it aloud (in German and, for
    a caller in another language, in theirs)."""
    console.registration_viewed(user=request.user, registration=registration, why=why)
    vorgangskennung, spelled = console.grouped_and_spelled(registration.vorgangskennung, "de")
    other = None
    if registration.language != "de":
        other = console.grouped_and_spelled(registration.vorgangskennung, registration.language)[1]
    return _render(
        request,
        "created.html",
        {
            "registration": registration,
            "why": why,
            "vorgangskennung": vorgangskennung,
            "spelled": spelled,
            "spelled_other": other,
        },
    )
