"""The call-center console (issue 6): agents book, register and look up on behalf of
callers, through the same services as the citizens' pages (one booking engine). Every page
needs a staff member with a verified second factor and the console permission; every look
at or change of personal data is written to the audit log with the call's reason."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from impftermin.console import selectors
from impftermin.console.forms import CallStatisticsForm
from impftermin.regions.selectors import region_overview
from impftermin.staff.decorators import staff_required
from impftermin.staff.selectors import staff_with_permission

CONSOLE = "staff.use_console"
STATISTICS = "staff.view_call_statistics"

# The console's access keys (Alt+Shift+key), one meaning each on every page: the navigation
# (console/base.html) and a call's actions. Listed on the overview page.
SHORTCUTS = [
    ("H", _("Übersicht")),
    ("T", _("Termin für eine anrufende Person buchen (Vermittlungscodes)")),
    ("C", _("Buchung mit Vermittlungscode suchen")),
    ("V", _("Registrierung suchen (Vorgangskennung und Geburtsdatum)")),
    ("N", _("Anrufer registrieren")),
    ("S", _("Anrufstatistik (Teamleitung)")),
    ("B", _("Termin buchen (im Anruf)")),
    ("U", _("Umbuchen (im Anruf)")),
    ("X", _("Termine stornieren (im Anruf)")),
    ("G", _("Gemeinsamen Termin verbinden (im Anruf)")),
    ("R", _("Zurück zur Registrierung (im Anruf)")),
    ("E", _("Anruf beenden")),
]


@require_GET
@staff_required(permission=CONSOLE)
def home(request: HttpRequest) -> HttpResponse:
    """Where a call starts: the regions with their booking mode, and the actions."""
    return render(
        request, "console/home.html", {"regions": region_overview(), "shortcuts": SHORTCUTS}
    )


@require_GET
@staff_required(permission=STATISTICS)
def call_statistics(request: HttpRequest) -> HttpResponse:
    """Supervisors: bookings, registrations, rebookings, cancellations and deletions per
    agent and hour of one day (item 6), from the audit log."""
    agents = list(staff_with_permission(CONSOLE))
    form = CallStatisticsForm(request.GET or None, agents=agents)
    context = {"form": form}
    if form.is_bound and not form.is_valid():
        return render(request, "console/statistics.html", context, status=400)
    data = form.cleaned_data if form.is_bound else {}
    day = data.get("tag") or timezone.localdate()
    context["statistics"] = selectors.call_statistics(day=day, user=data.get("agent") or None)
    return render(request, "console/statistics.html", context)
