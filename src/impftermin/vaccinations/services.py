"""At the centre (issue 7 item 4): check a person in for today's appointment and record the
dose given, with its batch number. Only staff of that centre; every step audited. No
walk-ins (R5): only an appointment of today at this centre can be checked in. Which dose
it is follows from what the person has had, not from the appointment's label: a second
appointment that lies before the first counts as the first (R12)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from impftermin.audit.models import AuditAction, AuditSubject
from impftermin.audit.services import audit_record
from impftermin.booking.models import Appointment, AppointmentStatus
from impftermin.booking.services import (
    appointment_check_in,
    appointment_vaccinated,
    pair_cancel,
    pair_second_add,
)
from impftermin.centres.models import Centre
from impftermin.centres.selectors import works_at
from impftermin.codes.services import code_no_show_release
from impftermin.core.errors import ServiceError
from impftermin.registrations.selectors import people_for_holders
from impftermin.registrations.services import registration_no_show_release
from impftermin.vaccinations.models import AgeGroup, Vaccination

CHECK_IN = "vaccinations.check_in"
BATCH_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9./-]{1,39}$")
ALREADY = _("Diese Impfung ist schon erfasst.")


def centre_for(user: Any, centre_id: object) -> Centre:
    """The centre, if `user` may check people in there; otherwise refused."""
    centre = works_at(user, centre_id) if user.has_perm(CHECK_IN) else None
    if centre is None:
        raise ServiceError(
            "not_centre_staff",
            _("Sie arbeiten nicht in diesem Impfzentrum."),
            field="centre",
        )
    return centre


def normalise_batch_number(value: object) -> str:
    text = re.sub(r"\s+", "", value).upper() if isinstance(value, str) else ""
    if not BATCH_NUMBER.match(text):
        raise ServiceError(
            "batch_number",
            _(
                "Bitte geben Sie die Chargennummer von der Packung an: 2 bis 40 Buchstaben und Ziffern, auch . / -."
            ),
            field="batch_number",
        )
    return text


def age_group(birth_date: dt.date | None, on: dt.date) -> AgeGroup:
    if birth_date is None:
        return AgeGroup.UNKNOWN
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if age < 12:
        return AgeGroup.UNDER_12
    if age < 18:
        return AgeGroup.FROM_12
    return AgeGroup.FROM_18 if age < 60 else AgeGroup.FROM_60


def _audit(user: Any, appointment: Appointment, detail: str) -> None:
    audit_record(
        user=user,
        action=AuditAction.CHANGE,
        what=AuditSubject.APPOINTMENT_PAIR,
        which=appointment.pair_id,
        detail=detail,
    )


@transaction.atomic
def person_check_in(*, user: Any, centre_id: object, appointment_id: object) -> Appointment:
    centre = centre_for(user, centre_id)
    appointment = appointment_check_in(appointment_id=appointment_id, centre_id=centre.pk)
    _audit(user, appointment, "checked in")
    return appointment


@transaction.atomic
def vaccination_record(
    *, user: Any, centre_id: object, appointment_id: object, batch_number: object
) -> Vaccination:
    """The dose given at a checked-in appointment. Once per person and dose: the database
    refuses a second record, also when two desks record at the same moment."""
    centre = centre_for(user, centre_id)
    batch = normalise_batch_number(batch_number)
    appointment = appointment_vaccinated(appointment_id=appointment_id, centre_id=centre.pk)
    pair = appointment.pair
    first_dose = Vaccination.objects.filter(holder=pair.holder, dose=1).first()
    had_first = first_dose is not None
    earliest = (
        timezone.localdate(first_dose.vaccinated_at)
        + dt.timedelta(days=pair.vaccine.min_interval_days)
        if had_first
        else None
    )
    if earliest is not None and timezone.localdate() < earliest:
        raise ServiceError(
            "too_early",
            _("Die zweite Impfung ist frühestens ab %(day)s möglich."),
            field="appointment",
            day=earliest.strftime("%d.%m.%Y"),
        )
    person = people_for_holders([pair.holder]).get(pair.holder)
    birth_date = person.birth_date if person else None
    if had_first and pair.vaccine.doses == 1:
        raise ServiceError(
            "fully_vaccinated",
            _("Diese Person hat ihre Impfung schon bekommen."),
            field="appointment",
        )
    try:
        with transaction.atomic():
            vaccination = Vaccination.objects.create(
                appointment=appointment,
                holder=pair.holder,
                dose=2 if had_first else 1,  # R12: whichever appointment comes first
                vaccine=pair.vaccine,
                centre=centre,
                batch_number=batch,
                age_group=age_group(birth_date, timezone.localdate()),
                vaccinated_at=timezone.now(),
                staff=user,
            )
    except IntegrityError:
        raise ServiceError("already_vaccinated", ALREADY, field="appointment") from None
    _audit(user, appointment, f"vaccinated dose {vaccination.dose}")
    return vaccination


@transaction.atomic
def second_appointment_book(
    *, user: Any, centre_id: object, appointment_id: object, second_slot_id: object
) -> Appointment:
    """R6: the person whose pair has no second appointment gets it here, on the day of the
    first (checked in or vaccinated today), inside the interval; they are told at the desk."""
    centre = centre_for(user, centre_id)
    appointment = (
        Appointment.objects.select_related("pair", "slot")
        .filter(
            pk=appointment_id if isinstance(appointment_id, int) else 0,
            slot__centre=centre,
            status__in=[AppointmentStatus.CHECKED_IN, AppointmentStatus.VACCINATED],
            slot__start__date=timezone.localdate(),
        )
        .first()
    )
    if appointment is None:
        raise ServiceError(
            "not_checked_in", _("Bitte checken Sie die Person zuerst ein."), field="appointment"
        )
    second = pair_second_add(
        pair_id=appointment.pair_id, holder=appointment.pair.holder, second_slot_id=second_slot_id
    )
    _audit(user, appointment, "second appointment booked at the centre")
    return second


@transaction.atomic
def no_show_release(*, pair_id: int, holder: str) -> None:
    """Whoever missed their first appointment gives up the rest after the grace period: the
    part of the service that knows the person (registrations, codes) cancels the pair in
    its own lock order and tells them, in one transaction."""
    if registration_no_show_release(pair_id=pair_id, holder=holder):
        return
    if code_no_show_release(pair_id=pair_id, holder=holder):
        return
    pair_cancel(pair_id=pair_id, holder=holder)  # a holder of another channel
