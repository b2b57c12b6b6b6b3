"""The second step of a staff log-in: the code of the authenticator app, or, for a staff
member without one, setting it up. Only for the staff member logged in with the password
(the device is always request.user's: no id in any URL); never cached; CSRF-protected."""

from __future__ import annotations

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from impftermin.core.errors import ServiceError
from impftermin.staff import selectors, services
from impftermin.staff.forms import CodeForm
from impftermin.staff.redirects import log_in_redirect, safe_next, with_next


def _second_factor_log_in(request: HttpRequest, device) -> None:
    request.session.cycle_key()  # a new session key for the raised privilege
    django_otp.login(request, device)


def _refused(request: HttpRequest, template: str, context: dict, error: ServiceError):
    response = render(request, template, context, status=429 if error.code == "throttled" else 200)
    if error.code == "throttled":
        response["Retry-After"] = str(error.params.get("retry_after", 60))
    return response


def _password_step_done(view):
    """Only for an active staff member who has given the password (else: to the log-in);
    one who is verified already goes on to where they were going."""

    def wrapped(request: HttpRequest) -> HttpResponse:
        if not selectors.is_staff_member(request.user):
            return log_in_redirect(request)
        next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
        if selectors.is_verified(request.user):
            return HttpResponseRedirect(next_url)
        return view(request, next_url)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
@_password_step_done
def verify(request: HttpRequest, next_url: str) -> HttpResponse:
    """The code of the staff member's app."""
    if not selectors.has_confirmed_device(request.user):
        return HttpResponseRedirect(with_next(reverse("staff:enrol"), next_url))
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "next": next_url}
    if form.is_bound and form.is_valid():
        try:
            device = services.totp_verify(user=request.user, code=form.cleaned_data["code"])
        except ServiceError as error:
            form.add_service_error(error)
            return _refused(request, "staff/verify.html", context, error)
        _second_factor_log_in(request, device)
        return HttpResponseRedirect(next_url)
    return render(request, "staff/verify.html", context)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
@_password_step_done
def enrol(request: HttpRequest, next_url: str) -> HttpResponse:
    """Setting up the app: a QR code of the otpauth URI and the key as text, confirmed by
    the first code. Only for a staff member without a confirmed device."""
    if selectors.has_confirmed_device(request.user):
        return HttpResponseRedirect(with_next(reverse("staff:verify"), next_url))
    form = CodeForm(request.POST if request.method == "POST" else None)
    error = None
    if form.is_bound and form.is_valid():
        try:
            device = services.totp_enrolment_confirm(
                user=request.user, code=form.cleaned_data["code"]
            )
        except ServiceError as refused:
            error = refused
            form.add_service_error(error)
        else:
            _second_factor_log_in(request, device)
            messages.success(
                request, _("Ihr zweiter Faktor ist eingerichtet. Sie sind jetzt angemeldet.")
            )
            return HttpResponseRedirect(next_url)
    try:
        device = services.totp_enrolment_start(user=request.user)
    except ServiceError:  # confirmed in a parallel request meanwhile
        return HttpResponseRedirect(with_next(reverse("staff:verify"), next_url))
    uri = selectors.device_uri(device)
    qr = segno.make(uri, error="m", micro=False)
    context = {
        "form": form,
        "next": next_url,
        "secret": selectors.device_secret(device),
        "username": request.user.get_username(),
        "issuer": settings.OTP_TOTP_ISSUER,
        # segno writes the SVG itself (no user input in it): safe to inline.
        "qr_svg": mark_safe(  # noqa: S308
            qr.svg_inline(scale=5, border=4, omitsize=False, svgclass="totp-qr")
        ),
    }
    if error is not None:
        return _refused(request, "staff/enrol.html", context, error)
    return render(request, "staff/enrol.html", context)


@never_cache
@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    """Log out (also before the second factor, where the admin's own log-out is closed)."""
    logout(request)
    messages.info(request, _("Sie sind abgemeldet."))
    return HttpResponseRedirect(reverse("admin:login"))
