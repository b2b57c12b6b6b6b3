"""Centre operations' pages (issue 7): the check-in desk for centre staff on a tablet (the
day's list, the search for a person, check-in, the dose with its batch number, the second
appointment on site), and for operators the statistics with their exports and the
capacity planning. Thin: the services decide; every look at names is audited."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from impftermin.audit.models import AuditAction, AuditSubject
from impftermin.audit.services import audit_record, audit_records
from impftermin.booking import services as booking_services
from impftermin.centres.selectors import centres_by_region, centres_of, get_centre
from impftermin.core.csv_export import csv_response
from impftermin.core.errors import ServiceError
from impftermin.regions.selectors import region_overview
from impftermin.staff.decorators import staff_required
from impftermin.vaccinations import selectors, services
from impftermin.vaccinations import statistics as stats
from impftermin.vaccinations.forms import (
    ClosureForm,
    DeskSearchForm,
    ExportForm,
    PlanningForm,
    StatisticsForm,
    VaccinationForm,
)

desk = staff_required(permission=services.CHECK_IN)
BATCH = "desk_batch_{}"  # the last batch number used at this centre, offered again


def _centre(request: HttpRequest, centre_id: int):
    try:
        return services.centre_for(request.user, centre_id)
    except ServiceError:
        raise Http404 from None


@require_GET
@desk
def centres(request: HttpRequest) -> HttpResponse:
    mine = centres_of(request.user)
    if len(mine) == 1:
        return redirect("vaccinations:desk", centre_id=mine[0].pk)
    return render(request, "vaccinations/centres.html", {"centres": mine})


@require_http_methods(["GET", "POST"])
@desk
def desk_view(request: HttpRequest, centre_id: int) -> HttpResponse:
    centre = _centre(request, centre_id)
    search = DeskSearchForm(request.POST if request.method == "POST" else None)
    found = None
    if search.is_bound and search.is_valid():
        data = search.cleaned_data
        found = selectors.desk_search(
            centre=centre,
            code=data["code"].strip(),
            vorgangskennung=data["vorgangskennung"].strip(),
            last_name=data["last_name"].strip(),
            birth_date=data["birth_date"],
        )
        # One entry per pair found (none found: one entry saying so).
        audit_records(
            user=request.user,
            action=AuditAction.LOOKUP,
            what=AuditSubject.APPOINTMENT_PAIR,
            whiches=[row.pair_id for row in found],
            why="Impfzentrum",
            detail=f"desk search by {search.kind()} at centre {centre.pk}",
        )
    rows = selectors.day_list(centre=centre)
    audit_records(
        user=request.user,
        action=AuditAction.VIEW,
        what=AuditSubject.APPOINTMENT_PAIR,
        whiches=[row.pair_id for row in rows],
        why="Impfzentrum",
        detail=f"day list of centre {centre.pk}",
    )
    return render(
        request,
        "vaccinations/desk.html",
        {
            "centre": centre,
            "rows": rows,
            "search": search,
            "found": found,
            "batch": request.session.get(BATCH.format(centre.pk), ""),
            "counts": {
                "all": len(rows),
                "done": sum(r.status == "vaccinated" for r in rows),
            },
        },
        status=200 if not search.is_bound or search.is_valid() else 400,
    )


def _appointment_id(text: str) -> int | None:
    """A plain ASCII number, or None (which the services refuse clearly)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def _back(centre_id: int, appointment_id: object = None) -> HttpResponse:
    url = reverse("vaccinations:desk", kwargs={"centre_id": centre_id})
    return redirect(f"{url}#termin-{appointment_id}" if appointment_id else url)


@require_POST
@desk
def check_in(request: HttpRequest, centre_id: int) -> HttpResponse:
    appointment_id = _appointment_id(request.POST.get("appointment", ""))
    try:
        services.person_check_in(
            user=request.user, centre_id=centre_id, appointment_id=appointment_id or ""
        )
    except ServiceError as error:
        messages.error(request, str(error.message))
    return _back(centre_id, appointment_id)


@require_POST
@desk
def vaccinate(request: HttpRequest, centre_id: int) -> HttpResponse:
    form = VaccinationForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return _back(centre_id, _appointment_id(request.POST.get("appointment", "")))
    try:
        vaccination = services.vaccination_record(
            user=request.user,
            centre_id=centre_id,
            appointment_id=form.cleaned_data["appointment"],
            batch_number=form.cleaned_data["batch_number"],
        )
    except ServiceError as error:
        messages.error(request, str(error.message))
    else:
        request.session[BATCH.format(centre_id)] = vaccination.batch_number
    return _back(centre_id, form.cleaned_data["appointment"])


@require_POST
@desk
def second_appointment(request: HttpRequest, centre_id: int) -> HttpResponse:
    appointment_id = _appointment_id(request.POST.get("appointment", ""))
    try:
        services.second_appointment_book(
            user=request.user,
            centre_id=centre_id,
            appointment_id=appointment_id,
            second_slot_id=request.POST.get("second_slot", ""),
        )
    except ServiceError as error:
        messages.error(request, str(error.message))
    return _back(centre_id, appointment_id)


# --- statistics and exports for operators (issue 7 item 5) -----------------------------------

operators = staff_required(permission="vaccinations.view_vaccination")
CHART_HEIGHT = 120


def _chart(rows: list) -> dict:
    """Vaccinations per day as bars of an inline SVG (the table below has the figures)."""
    totals: dict = {}
    for row in rows:
        totals[row.day] = totals.get(row.day, 0) + row.vaccinated
    days = sorted(totals)
    top = max(totals.values(), default=0) or 1
    width = 24
    bars = [
        {
            "x": i * (width + 8),
            "height": round(totals[day] / top * CHART_HEIGHT),
            "y": CHART_HEIGHT - round(totals[day] / top * CHART_HEIGHT),
            "day": day,
            "count": totals[day],
        }
        for i, day in enumerate(days)
    ]
    return {
        "bars": bars,
        "width": max(len(days) * (width + 8), 1),
        "bar": width,
        "height": CHART_HEIGHT,
    }


@require_GET
@operators
def statistics(request: HttpRequest) -> HttpResponse:
    regions = region_overview()
    form = StatisticsForm(request.GET, regions=regions)
    if not form.is_valid():
        return render(request, "vaccinations/statistics.html", {"form": form}, status=400)
    data = form.cleaned_data
    rows = stats.day_rows(
        date_from=data["date_from"], date_to=data["date_to"], region_id=data["region"]
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            f"impfstatistik-{data['date_from']}-{data['date_to']}.csv",
            STATISTICS_HEADER,
            (
                [
                    r.day.isoformat(), r.centre, r.vaccine, r.offered, r.booked, r.checked_in,
                    r.vaccinated, r.no_shows,
                    "" if r.utilisation is None else f"{r.utilisation:.2f}",
                    "" if r.waiting_days is None else r.waiting_days,
                ]
                for r in rows
            ),
        )  # fmt: skip
    return render(
        request,
        "vaccinations/statistics.html",
        {
            "form": form,
            "rows": rows,
            "chart": _chart(rows),
            "data": data,
            "doses": stats.district_doses(region_id=data["region"]),
        },
    )


STATISTICS_HEADER = [
    "date", "centre", "vaccine", "seats_offered", "booked", "checked_in", "vaccinated",
    "no_shows", "utilisation", "waiting_days",
]  # fmt: skip
EXPORT_HEADER = ["date", "district", "vaccine", "dose", "age_group", "count"]


@require_GET
@operators
def daily_export(request: HttpRequest) -> HttpResponse:
    """The aggregated vaccinations of one day (yesterday unless asked), counts only."""
    form = ExportForm(request.GET)
    if not form.is_valid():
        return render(request, "vaccinations/statistics.html", {"form": form}, status=400)
    day = form.cleaned_data["tag"] or timezone.localdate() - dt.timedelta(days=1)
    rows = stats.daily_export(day=day, region_id=form.cleaned_data["region"])
    audit_record(
        user=request.user,
        action=AuditAction.EXPORT,
        what=AuditSubject.APPOINTMENT_PAIR,
        which="",
        detail=f"daily vaccination counts {day.isoformat()}",
    )
    return csv_response(f"impfungen-{day.isoformat()}.csv", EXPORT_HEADER, rows)


# --- capacity planning for operators (issue 7 item 1) ----------------------------------------

planners = staff_required(permission="booking.add_slot")


@require_GET
@planners
def planning_centres(request: HttpRequest) -> HttpResponse:
    return render(request, "vaccinations/planning_centres.html", {"regions": centres_by_region()})


def _planning_action(request: HttpRequest, centre, form: PlanningForm, closure: ClosureForm):
    action = request.POST.get("action")
    if action == "close" and closure.is_valid():
        booking_services.centre_day_close(
            centre_id=centre.pk,
            day=closure.cleaned_data["day"],
            reason=closure.cleaned_data["reason"],
        )
        messages.success(request, _("Der Tag ist geschlossen."))
    elif action == "reopen":
        try:
            day = dt.date.fromisoformat(request.POST.get("day", ""))
        except ValueError:
            day = None  # refused by the service with a clear message
        booking_services.centre_day_reopen(centre_id=centre.pk, day=day)
        messages.success(request, _("Der Tag ist wieder geöffnet."))
    elif action in ("generate", "release") and form.is_valid():
        data = form.cleaned_data
        created = booking_services.slots_generate(
            centre_id=centre.pk, date_from=data["date_from"], date_to=data["date_to"]
        )
        text = _("%(n)d Zeitfenster angelegt.") % {"n": created}
        if action == "release":
            released = booking_services.slots_release(region_id=centre.district.region_id)
            released_text = _("%(n)d Zeitfenster freigegeben.") % {"n": released}
            text = f"{text} {released_text}"
        messages.success(request, text)


@require_http_methods(["GET", "POST"])
@planners
def planning(request: HttpRequest, centre_id: int) -> HttpResponse:
    """Opening hours and capacities as set (edited in the back office), closures, and a
    preview of the slots they give; then generate and release."""
    try:
        centre = get_centre(centre_id)
    except ServiceError:
        raise Http404 from None
    form = PlanningForm(request.GET)
    closure = ClosureForm(request.POST if request.POST.get("action") == "close" else None)
    if request.method == "POST" and not closure.errors:
        try:
            _planning_action(request, centre, form, closure)
        except ServiceError as error:
            messages.error(request, str(error.message))
        return redirect(f"{request.path}?{request.GET.urlencode()}")
    preview = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            preview = booking_services.slots_preview(
                centre_id=centre.pk, date_from=data["date_from"], date_to=data["date_to"]
            )
        except ServiceError as error:  # e.g. days in the past
            form.add_service_error(error)
    return render(
        request,
        "vaccinations/planning.html",
        {
            "centre": centre,
            "form": form,
            "closure": closure,
            "preview": preview,
            "hours": centre.opening_hours.order_by("weekday", "opens"),
            "capacities": centre.capacities.select_related("vaccine").order_by("vaccine__name"),
            "closures": centre.closures.filter(day__gte=timezone.localdate()),
        },
        status=200 if not form.errors and not closure.errors else 400,
    )
