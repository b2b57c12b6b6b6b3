"""The waiting page's switch for its automatic refresh (WCAG 2.2.1: a time limit that a
visitor can turn off): a cookie, then back to the page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

MANUAL_COOKIE = "wr-manual"


@never_cache
@require_GET
def refresh_switch(request: HttpRequest) -> HttpResponse:
    back = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    response = redirect(back)
    if request.GET.get("auto") == "1":
        response.delete_cookie(MANUAL_COOKIE)
    else:
        response.set_cookie(MANUAL_COOKIE, "1", max_age=86400, httponly=True, samesite="Lax")
    return response
