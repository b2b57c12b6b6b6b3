"""The call-center console (issue 6): agents book, register and look up on behalf of
callers, through the same services as the citizens' pages (one booking engine). Every page
needs a staff member with a verified second factor and the console permission; every look
at or change of personal data is written to the audit log with the call's reason."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from impftermin.regions.selectors import region_overview
from impftermin.staff.decorators import staff_required

CONSOLE = "staff.use_console"


@require_GET
@staff_required(permission=CONSOLE)
def home(request: HttpRequest) -> HttpResponse:
    """Where a call starts: the regions with their booking mode, and the actions."""
    return render(request, "console/home.html", {"regions": region_overview()})
