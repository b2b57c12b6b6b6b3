"""Where staff pages send a browser: to the log-in (Django's admin log-in: the password), to
the second factor, and back to where the staff member was going, if that is on this site."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, candidate: object) -> str:
    """`candidate` if it is a path or URL of this site, else the admin's start page."""
    if isinstance(candidate, str) and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"


def second_factor_redirect(request: HttpRequest, next_url: object) -> HttpResponseRedirect:
    """To the code (or, without a device, on from there to setting one up)."""
    return HttpResponseRedirect(with_next(reverse("staff:verify"), safe_next(request, next_url)))


def log_in_redirect(request: HttpRequest) -> HttpResponseRedirect:
    """To the password log-in, back here afterwards."""
    return redirect_to_login(request.get_full_path(), reverse("admin:login"))
