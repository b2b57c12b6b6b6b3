import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from impftermin.regions import selectors as region_selectors


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"regions": region_selectors.region_overview()})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def data_export_response(data: dict) -> JsonResponse:
    """A person's copy of their data (GDPR Art. 15) as a JSON file to keep."""
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = 'attachment; filename="meine-daten.json"'
    return response  # the views are never_cache


UNAVAILABLE_RETRY_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's last resort (handler500), called while the exception is being handled. A
    database gone for a moment — restarting, its connections cut — is no fault of the
    request, whose transaction has rolled back: 503 with Retry-After, so that people and
    clients try again (the next request opens a new connection). Anything else is a 500;
    Django has logged it with its traceback. Nothing here touches the database."""
    unavailable = isinstance(sys.exc_info()[1], OperationalError | InterfaceError)
    status = 503 if unavailable else 500
    message = (
        _(
            "Der Dienst ist gerade kurz nicht erreichbar. Bitte versuchen Sie es in einigen Sekunden noch einmal."
        )
        if unavailable
        else _("Etwas ist schiefgegangen. Bitte versuchen Sie es später noch einmal.")
    )
    code = "unavailable" if unavailable else "server_error"
    if request.path.startswith(("/its/", "/assets/")):  # the 2021 protocol's error format
        response = JsonResponse({"errors": [{"code": code, "text": message}]}, status=status)
    elif request.path.startswith("/api/"):
        response = JsonResponse({"code": code, "message": message, "fields": {}}, status=status)
    else:
        response = HttpResponse(
            render_to_string(
                "core/server_error.html",
                {"message": message, "unavailable": unavailable},
                request=request,
            ),
            status=status,
        )
    if unavailable:
        response["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
    return response
