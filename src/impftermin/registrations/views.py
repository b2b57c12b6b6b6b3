"""The citizen's pages for a region in assignment mode (the Hessen way): register (postcode
and date of birth → person, address, centre, vaccine, contact, password) → Vorgangskennung;
log in with Vorgangskennung and password; the account: the pair, its document (PDF),
choose or move the pair, "Sofort", cancel back into the pool, delete; password reset.

Views stay thin: forms check the shape, the services decide. The account lives in the
server-side session for an hour at most and ends when the browser closes; a new password
ends every older session."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from impftermin.booking.forms import lost_race
from impftermin.booking.messages import WHAT_TO_BRING
from impftermin.booking.selectors import (
    booked_appointments,
    in_progress_refusal,
    live_pair_for,
    rebook_refusal,
)
from impftermin.core import identifiers
from impftermin.core.errors import ServiceError
from impftermin.core.flow import forget, recall, remember
from impftermin.core.throttle import client_key
from impftermin.core.views import data_export_response
from impftermin.regions.start import region_asked
from impftermin.registrations import forms
from impftermin.registrations.accounts import (
    password_reset_registration,
    password_reset_request,
    password_reset_set,
    registration_log_in,
    session_hash,
    session_valid,
)
from impftermin.registrations.flow import (
    OTHER_MODE,
    SHOW,
    start_state,
    start_step,
    times_choice,
)
from impftermin.registrations.letters import appointment_document
from impftermin.registrations.models import Registration, RegistrationStatus
from impftermin.registrations.selectors import registration_export
from impftermin.registrations.services import (
    registration_book,
    registration_create,
    registration_delete,
    registration_pair_cancel,
    registration_rebook,
    registration_short_notice,
)

FLOW = "registration_flow"  # region, district, postcode, date of birth, eligible vaccines
ACCOUNT = "registration_account"  # the logged-in registration and its password's hash
CHOICE = "registration_choice"  # the nonce of the times page shown


# --- registering -----------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Postcode (region and district, R12) and date of birth (eligibility) first: they
    decide which centres and vaccines the form offers."""
    region = region_asked(request)
    form = forms.StartForm(request.POST or None)
    context = {"form": form, "region": region}
    if request.method == "GET" or not form.is_valid():
        return render(request, "registrations/start.html", context)
    outcome = start_step(request, form, context, key=FLOW)
    if outcome == OTHER_MODE:
        return render(request, "registrations/other_mode.html", {"region": context["region"]})
    if outcome == SHOW:
        return render(request, "registrations/start.html", context)
    return redirect("registrations:details")


def _flow(request: HttpRequest) -> dict | None:
    return start_state(request, key=FLOW)


@never_cache
@require_http_methods(["GET", "POST"])
def details(request: HttpRequest) -> HttpResponse:
    """Person, address, centre, vaccine, contact and password (R13, R15, R27)."""
    flow = _flow(request)
    if flow is None:
        return redirect("registrations:start")
    form = forms.RegistrationForm(
        request.POST or None, centres=flow["centres"], vaccines=flow["vaccines"]
    )
    context = {"form": form, "flow": flow, "region": flow["district"].region}
    if request.method == "GET" or not form.is_valid():
        return render(request, "registrations/details.html", context)
    data = form.cleaned_data
    try:
        registration = registration_create(
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
            password=data["password"],
            language=request.LANGUAGE_CODE,
            client=client_key(request),
        )
    except ServiceError as error:
        form.add_service_error(error)
        return _refused(request, "registrations/details.html", context, error)
    forget(request, FLOW)
    _log_in(request, registration)
    return redirect("registrations:registered")


@never_cache
@require_GET
def registered(request: HttpRequest) -> HttpResponse:
    """The Vorgangskennung, what happens next, and booking at once (R18)."""
    registration = _account(request)
    if registration is None:
        return redirect("registrations:log_in")
    return render(
        request,
        "registrations/registered.html",
        {
            "registration": registration,
            "vorgangskennung": identifiers.grouped(registration.vorgangskennung),
        },
    )


def _refused(request: HttpRequest, template: str, context: dict, error: ServiceError):
    """The form again with the refusal on it; throttled: 429 with Retry-After."""
    response = render(request, template, context)
    if error.code == "throttled":
        response.status_code = 429
        response["Retry-After"] = str(error.params.get("retry_after", 60))
    return response


# --- log-in, log-out, password reset ----------------------------------------------------


def _log_in(request: HttpRequest, registration: Registration) -> None:
    request.session.cycle_key()  # no session fixation
    remember(request, ACCOUNT, {"id": registration.pk, "hash": session_hash(registration)})


def _account(request: HttpRequest) -> Registration | None:
    """The logged-in registration, while it lives and its password is unchanged."""
    account = recall(request, ACCOUNT)
    if not account or not isinstance(account.get("id"), int):
        return None
    registration = (
        Registration.objects.select_related("region", "centre", "vaccine")
        .exclude(status=RegistrationStatus.DELETED)
        .filter(pk=account["id"])
        .first()
    )
    if registration is None or not session_valid(registration, account.get("hash")):
        forget(request, ACCOUNT)
        return None
    return registration


@never_cache
@require_http_methods(["GET", "POST"])
def log_in(request: HttpRequest) -> HttpResponse:
    form = forms.LogInForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return render(request, "registrations/log_in.html", {"form": form})
    try:
        registration = registration_log_in(
            vorgangskennung=form.cleaned_data["vorgangskennung"],
            password=form.cleaned_data["password"],
            client=client_key(request),
        )
    except ServiceError as error:
        form.add_service_error(error)
        return _refused(request, "registrations/log_in.html", {"form": form}, error)
    _log_in(request, registration)
    return redirect("registrations:account")


@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return redirect("registrations:log_in")


@never_cache
@require_http_methods(["GET", "POST"])
def password_forgotten(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordForgottenForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return render(request, "registrations/password_forgotten.html", {"form": form})
    try:
        password_reset_request(
            vorgangskennung=form.cleaned_data["vorgangskennung"],
            email=form.cleaned_data["email"],
            client=client_key(request),
        )
    except ServiceError as error:
        form.add_service_error(error)
        return _refused(request, "registrations/password_forgotten.html", {"form": form}, error)
    # The same answer whether or not the two belong together (no enumeration).
    return render(request, "registrations/password_forgotten.html", {"sent": True})


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest, uid: str, token: str) -> HttpResponse:
    try:
        password_reset_registration(uid=uid, token=token)
    except ServiceError as error:
        return render(request, "registrations/password_reset.html", {"error": error}, status=404)
    form = forms.NewPasswordForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return render(request, "registrations/password_reset.html", {"form": form})
    try:
        password_reset_set(uid=uid, token=token, password=form.cleaned_data["password"])
    except ServiceError as error:
        if error.code == "link_invalid":
            return render(
                request, "registrations/password_reset.html", {"error": error}, status=404
            )
        form.add_service_error(error)
        return render(request, "registrations/password_reset.html", {"form": form})
    request.session.flush()
    return render(request, "registrations/password_reset.html", {"done": True})


# --- the account ---------------------------------------------------------------------------


def _account_or_log_in(view):
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        registration = _account(request)
        if registration is None:
            return redirect("registrations:log_in")
        return view(request, registration, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@never_cache
@require_GET
@_account_or_log_in
def account(request: HttpRequest, registration: Registration) -> HttpResponse:
    pair = live_pair_for(holder=registration.holder)
    context = {
        "registration": registration,
        "vorgangskennung": identifiers.grouped(registration.vorgangskennung),
        "pair": pair,
        "appointments": booked_appointments(pair) if pair else [],
        "what_to_bring": WHAT_TO_BRING,
        "short_notice_days": registration.region.short_notice_days,
    }
    if pair is not None:
        appointments = list(pair.appointments.all())
        context["rebook_refusal"] = rebook_refusal(
            pair=pair, appointments=appointments, now=timezone.now()
        )
        context["cancel_refusal"] = in_progress_refusal(appointments)
    return render(request, "registrations/account.html", context)


@never_cache
@require_GET
@_account_or_log_in
def document(request: HttpRequest, registration: Registration) -> HttpResponse:
    """The appointment document of the current pair as PDF (R16)."""
    try:
        pdf = appointment_document(registration)
    except ServiceError:
        return redirect("registrations:account")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="impftermine.pdf"'
    return response


@never_cache
@require_GET
@_account_or_log_in
def data_export(request: HttpRequest, registration: Registration) -> HttpResponse:
    """Everything we hold about the person, as a file (GDPR Art. 15)."""
    return data_export_response(registration_export(registration))


@never_cache
@require_http_methods(["GET", "POST"])
@_account_or_log_in
def choose(request: HttpRequest, registration: Registration) -> HttpResponse:
    """Free times at the person's centre by day: book at once after registering (R18) or
    move the pair (R20)."""
    if registration.status == RegistrationStatus.REVIEW:
        return redirect("registrations:account")
    choice = times_choice(request, registration, key=CHOICE)
    form, context, rebook, nonce = choice.form, choice.context, choice.rebook, choice.nonce
    if choice.refusal:
        return render(request, "registrations/choose.html", {**context, "refusal": choice.refusal})
    if request.method == "GET" or not form.is_valid():
        return render(request, "registrations/choose.html", context)
    if request.POST.get("nonce") != nonce:
        return redirect("registrations:choose")  # a page made before (another tab)
    first_slot_id, second_slot_id = form.slot_ids()
    try:
        if rebook:
            result = registration_rebook(
                registration_id=registration.pk,
                first_slot_id=first_slot_id,
                second_slot_id=second_slot_id,
            )
        else:
            result = registration_book(
                registration_id=registration.pk,
                first_slot_id=first_slot_id,
                second_slot_id=second_slot_id,
            )
    except ServiceError as error:
        form.add_service_error(error)
        return render(request, "registrations/choose.html", context)
    if not result.booked:
        return render(request, "registrations/choose.html", {**context, **lost_race(result)})
    forget(request, CHOICE)
    return redirect(f"{reverse('registrations:account')}?{'umgebucht' if rebook else 'gebucht'}=1")


@never_cache
@require_POST
@_account_or_log_in
def short_notice(request: HttpRequest, registration: Registration) -> HttpResponse:
    """ "Sofort" (R25): a free appointment at the person's centre within the next days."""
    try:
        registration_short_notice(registration_id=registration.pk)
    except ServiceError as error:
        return render(
            request,
            "registrations/short_notice.html",
            {"error": error, "registration": registration},
            status=409,
        )
    return redirect(f"{reverse('registrations:account')}?sofort=1")


@never_cache
@require_http_methods(["GET", "POST"])
@_account_or_log_in
def cancel(request: HttpRequest, registration: Registration) -> HttpResponse:
    """Cancel the pair; the registration stays in the pool (R22), said before confirming."""
    pair = live_pair_for(holder=registration.holder)
    if pair is None or in_progress_refusal(list(pair.appointments.all())) is not None:
        return redirect("registrations:account")
    context = {
        "registration": registration,
        "pair": pair,
        "appointments": booked_appointments(pair),
    }
    if request.method == "GET":
        return render(request, "registrations/cancel.html", context)
    try:
        registration_pair_cancel(registration_id=registration.pk)
    except ServiceError as error:
        return render(request, "registrations/cancel.html", {**context, "error": error}, status=409)
    return redirect(f"{reverse('registrations:account')}?storniert=1")


@never_cache
@require_http_methods(["GET", "POST"])
@_account_or_log_in
def delete(request: HttpRequest, registration: Registration) -> HttpResponse:
    """Delete the registration for good (R23): out of the pool, data erased."""
    if request.method == "GET":
        return render(
            request,
            "registrations/delete.html",
            {"registration": registration, "pair": live_pair_for(holder=registration.holder)},
        )
    try:
        registration_delete(registration_id=registration.pk)
    except ServiceError as error:
        return render(
            request,
            "registrations/delete.html",
            {"registration": registration, "error": error},
            status=409,
        )
    request.session.flush()
    return render(request, "registrations/deleted.html")
