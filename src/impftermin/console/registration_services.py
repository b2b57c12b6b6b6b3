"""What an agent does with a registration on a call (assignment mode, issue 6): each use
case calls the registrations app's service and writes the audit entry with the call's
reason, in the same transaction where the service allows it. The registration services
decide; this module adds who did it and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from impftermin.audit.models import AuditAction, AuditSubject
from impftermin.audit.services import audit_record
from impftermin.booking.models import Channel
from impftermin.console.outcomes import CallOutcome
from impftermin.core import identifiers
from impftermin.core.errors import ServiceError
from impftermin.core.throttle import Limit
from impftermin.registrations import services
from impftermin.registrations.models import Registration

# An agent mistypes now and then; many failures in an hour look like guessing.
LOOKUPS_PER_AGENT = Limit("console-registration-agent", 30, dt.timedelta(hours=1))

REGISTRATION = AuditSubject.REGISTRATION


def registration_lookup(
    *, user: Any, vorgangskennung: str, birth_date: dt.date, why: str
) -> Registration:
    """Find a registration by Vorgangskennung and date of birth (R20), nothing else, with
    the agent's own limit (`services.registration_find`). Each attempt, found or not, is
    audited."""
    try:
        registration = services.registration_find(
            vorgangskennung=vorgangskennung,
            birth_date=birth_date,
            asker=(LOOKUPS_PER_AGENT, str(user.pk)),
        )
    except ServiceError as error:
        if error.code in ("throttled", "not_found"):
            audit_record(
                user=user,
                action=AuditAction.LOOKUP,
                what=REGISTRATION,
                which="",
                why=why,
                detail="throttled" if error.code == "throttled" else "not found",
            )
        raise
    audit_record(
        user=user, action=AuditAction.LOOKUP, what=REGISTRATION, which=registration.pk, why=why
    )
    return registration


def registration_viewed(*, user: Any, registration: Registration, why: str, detail: str = ""):
    """A page showed the registration's personal data (`detail`: which part, e.g. contact)."""
    audit_record(
        user=user,
        action=AuditAction.VIEW,
        what=REGISTRATION,
        which=registration.pk,
        why=why,
        detail=detail,
    )


def _changed(
    user: Any, registration_id: int, why: str, outcome: CallOutcome, *, delete=False
) -> None:
    audit_record(
        user=user,
        action=AuditAction.DELETE if delete else AuditAction.CHANGE,
        what=REGISTRATION,
        which=registration_id,
        why=why,
        detail=outcome,
    )


def registration_register_by_phone(*, user: Any, why: str, **fields) -> Registration:
    """R13, R17, R21: a caller registered by the agent, without password; without e-mail
    the appointments go out by letter."""
    with transaction.atomic():
        registration = services.registration_create(
            channel=Channel.PHONE, password=None, client=None, **fields
        )
        _changed(user, registration.pk, why, CallOutcome.REGISTERED)
    return registration


def registration_choose_by_phone(
    *,
    user: Any,
    registration_id: int,
    first_slot_id: int,
    second_slot_id: int | None,
    rebook: bool,
    why: str,
):
    """R18 (book, when waiting) or R20 (rebook, the engine enforces the cut-off). A lost
    race changes nothing and is not audited as a change; its result offers other times."""
    book = services.registration_rebook if rebook else services.registration_book
    with transaction.atomic():
        result = book(
            registration_id=registration_id,
            first_slot_id=first_slot_id,
            second_slot_id=second_slot_id,
            channel=Channel.PHONE,
        )
        if result.booked:  # a couple (R19) got a pair each: both are audited
            outcome = CallOutcome.REBOOKED if rebook else CallOutcome.BOOKED
            for pair in result.pairs:
                _changed(user, Registration.pk_of_holder(pair.holder), why, outcome)
    return result


def registration_cancel_by_phone(*, user: Any, registration_id: int, why: str) -> Registration:
    """R22: the pair is cancelled, the registration stays in the pool."""
    with transaction.atomic():
        registration = services.registration_pair_cancel(registration_id=registration_id)
        _changed(user, registration_id, why, CallOutcome.CANCELLED)
    return registration


def registration_delete_by_phone(*, user: Any, registration_id: int, why: str) -> Registration:
    """R23: out of the pool for good, personal data erased."""
    with transaction.atomic():
        registration = services.registration_delete(registration_id=registration_id)
        _changed(user, registration_id, why, CallOutcome.DELETED, delete=True)
    return registration


def registrations_couple_by_phone(
    *,
    user: Any,
    registration_id: int,
    partner_vorgangskennung: str,
    partner_birth_date: dt.date,
    why: str,
) -> Registration:
    """R19 with both Vorgangskennungen. Not in one transaction with the audit entry: the
    service counts failed partner checks in its own, which must survive a refusal. Both
    registrations get an entry."""
    registration = services.registrations_couple(
        registration_id=registration_id,
        partner_vorgangskennung=partner_vorgangskennung,
        partner_birth_date=partner_birth_date,
    )
    with transaction.atomic():
        _changed(user, registration.pk, why, CallOutcome.COUPLED)
        _changed(user, registration.partner_id, why, CallOutcome.COUPLED)
    return registration


def registration_uncouple_by_phone(*, user: Any, registration_id: int, why: str) -> Registration:
    with transaction.atomic():
        partner_id = (
            Registration.objects.filter(pk=registration_id)
            .values_list("partner_id", flat=True)
            .first()
        )
        result = services.registration_uncouple(registration_id=registration_id)
        _changed(user, registration_id, why, CallOutcome.UNCOUPLED)
        if partner_id is not None:
            _changed(user, partner_id, why, CallOutcome.UNCOUPLED)
    return result


def grouped_and_spelled(vorgangskennung: str, language: str) -> tuple[str, str]:
    """The Vorgangskennung as shown (groups of four) and spelled for reading aloud."""
    text = identifiers.grouped(vorgangskennung)
    return text, identifiers.spelled(text, language)
