"""The steps of a registration shared by the citizen's pages and the call center's console:
postcode (region and district, R12) and date of birth (eligibility), kept in the session
under the caller's key; what the details form offers; and the times page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone

from impftermin.booking.forms import SlotChoiceForm, labelled_options, option_value
from impftermin.booking.models import AppointmentPair
from impftermin.booking.selectors import rebook_refusal
from impftermin.centres.selectors import district_centres, get_vaccine, vaccines_offered
from impftermin.core.errors import ServiceError
from impftermin.core.flow import page_nonce, recall, remember
from impftermin.regions.models import BookingMode
from impftermin.regions.selectors import districts_for_postcode
from impftermin.regions.start import district_chosen, postcode_place
from impftermin.registrations.selectors import live_pair, registration_times
from impftermin.vaccines.selectors import vaccine_eligibility

DONE = "done"  # the step is complete: go on to the details
OTHER_MODE = "other_mode"  # the postcode's region books with codes
SHOW = "show"  # show the start page again with `context` (errors, choices, refusal)
DAY_PARAM = "tag"  # the day chosen on a times page


def start_step(request: HttpRequest, form, context: dict, *, key: str) -> str:
    """Take a valid start form (postcode, birth_date) one step on; fills `context` with
    what the start page shows and returns DONE, OTHER_MODE or SHOW."""
    postcode = form.cleaned_data["postcode"].strip()
    try:
        place = postcode_place(postcode=postcode, region=context.get("region"))
    except ServiceError as error:
        form.add_service_error(error)
        return SHOW
    if place.region is None:
        context["regions"] = place.regions
        return SHOW
    region = context["region"] = place.region
    if region.booking_mode != BookingMode.ASSIGNMENT:
        return OTHER_MODE
    district, context["district_form"] = district_chosen(request, place.districts)
    if district is None:
        return SHOW
    birth_date = form.cleaned_data["birth_date"]
    try:
        eligibility = vaccine_eligibility(district=district, birth_date=birth_date)
    except ServiceError as error:
        form.add_service_error(error)
        return SHOW
    if not eligibility.eligible:
        context["refused"] = eligibility
        return SHOW
    remember(
        request,
        key,
        {
            "region": region.pk,
            "district": district.pk,
            "postcode": postcode,
            "birth_date": birth_date.isoformat(),
            "vaccines": [v.pk for v in eligibility.vaccines],
        },
    )
    return DONE


def start_state(request: HttpRequest, *, key: str) -> dict | None:
    """What the first step found, checked again (a session is never trusted to hold the
    right shape): birth date, district, the eligible vaccines its centres offer, and its
    centres; None when there is no such step."""
    flow = dict(recall(request, key) or {})  # a copy: the session keeps what it stored
    try:
        flow["birth_date"] = dt.date.fromisoformat(flow["birth_date"])
        districts = districts_for_postcode(region_id=flow["region"], postcode=flow["postcode"])
        flow["district"] = next(d for d in districts if d.pk == flow["district"])
    except (TypeError, KeyError, ValueError, StopIteration, ServiceError):
        return None
    vaccines = []
    for pk in flow.get("vaccines") or []:
        try:
            vaccines.append(get_vaccine(pk))
        except ServiceError:
            continue
    offered = vaccines_offered(district_id=flow["district"].pk)
    flow["vaccines"] = [v for v in vaccines if v in offered]
    flow["centres"] = district_centres(district_id=flow["district"].pk)
    return flow


@dataclass
class TimesChoice:
    """The times page of a registration (R18 book, R20 rebook), as the citizen's pages and
    the console both show it: the form over the free times, what the page shows, and why
    the pair cannot be moved (None: it can)."""

    form: SlotChoiceForm
    context: dict
    pair: AppointmentPair | None  # the live pair that a choice would move
    nonce: str
    refusal: ServiceError | None

    @property
    def rebook(self) -> bool:
        return self.pair is not None


def times_choice(
    request: HttpRequest, registration, *, key: str, proof_of_work: bool = True
) -> TimesChoice:
    """Free times at the person's centre by day (`tag`), with a fresh page nonce kept under
    `key`; for a live pair the engine's own rebook rule. The console's form has no proof of
    work."""
    pair = live_pair(registration)
    times = registration_times(
        registration, request.GET.get(DAY_PARAM) or request.POST.get(DAY_PARAM)
    )
    form = SlotChoiceForm(
        request.POST or None,
        options=[(option_value(o), "") for o in times.options],
        proof_of_work=proof_of_work,
    )
    nonce = page_nonce(request, key)
    refusal = (
        rebook_refusal(pair=pair, appointments=list(pair.appointments.all()), now=timezone.now())
        if pair is not None
        else None
    )
    context = {
        "form": form,
        "registration": registration,
        "vaccine": registration.vaccine,
        "rebook": pair is not None,
        "party_size": times.party_size,
        "single_dose": times.single_dose,
        "days": times.days,
        "day": times.day,
        "day_param": DAY_PARAM,
        "nonce": nonce,
        "options": labelled_options(times.options),
    }
    return TimesChoice(form, context, pair, nonce, refusal)
