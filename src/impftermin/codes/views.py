from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from impftermin.codes.services import email_link_confirm
from impftermin.core.errors import ServiceError

# A refused link: gone for good (used, expired) or never valid.
LINK_STATUS = {"link_used": 410, "link_expired": 410, "link_invalid": 404}


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
