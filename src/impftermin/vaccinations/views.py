"""The check-in desk (issue 7 item 4), for centre staff on a tablet: the day's list, the
search for a person, check-in, the dose with its batch number. Thin: the services decide,
every look at names is audited."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from impftermin.audit.models import AuditAction, AuditSubject
from impftermin.audit.services import audit_record
from impftermin.centres.selectors import centres_of
from impftermin.core.errors import ServiceError
from impftermin.staff.decorators import staff_required
from impftermin.vaccinations import selectors, services
from impftermin.vaccinations.forms import DeskSearchForm, VaccinationForm

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
        kind = search.kind()
        audit_record(
            user=request.user,
            action=AuditAction.LOOKUP,
            what=AuditSubject.BOOKING_CODE if kind == "code" else AuditSubject.REGISTRATION,
            which="",
            why="Impfzentrum",
            detail=f"desk search by {kind} at centre {centre.pk}: {len(found)} found",
        )
    rows = selectors.day_list(centre=centre)
    audit_record(
        user=request.user,
        action=AuditAction.VIEW,
        what=AuditSubject.APPOINTMENT_PAIR,
        which="",
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


def _back(centre_id: int, appointment_id: object = None) -> HttpResponse:
    url = reverse("vaccinations:desk", kwargs={"centre_id": centre_id})
    return redirect(f"{url}#termin-{appointment_id}" if appointment_id else url)


@require_POST
@desk
def check_in(request: HttpRequest, centre_id: int) -> HttpResponse:
    appointment_id = request.POST.get("appointment", "")
    try:
        services.person_check_in(
            user=request.user,
            centre_id=centre_id,
            appointment_id=int(appointment_id) if appointment_id.isdigit() else appointment_id,
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
        return _back(centre_id, request.POST.get("appointment"))
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
    appointment_id = request.POST.get("appointment", "")
    try:
        services.second_appointment_book(
            user=request.user,
            centre_id=centre_id,
            appointment_id=int(appointment_id) if appointment_id.isdigit() else None,
            second_slot_id=request.POST.get("second_slot", ""),
        )
    except ServiceError as error:
        messages.error(request, str(error.message))
    return _back(centre_id, appointment_id)
