"""What an agent does with booking codes on a call (codes mode, issue 6): each use case
calls the codes app's service and writes the audit entry with the call's reason in the same
transaction, so a change is never without its entry. The codes services decide; this
module adds who did it and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from impftermin.audit.models import AuditAction, AuditSubject
from impftermin.audit.services import audit_record
from impftermin.booking.models import AppointmentPair, Channel
from impftermin.booking.services import BookingResult
from impftermin.codes.models import CodeSet
from impftermin.codes.services import (
    PhoneBooking,
    code_cancel,
    code_rebook,
    code_set_for,
    codes_book_by_phone,
    normalise_code,
)
from impftermin.console.outcomes import CallOutcome
from impftermin.core.errors import ServiceError
from impftermin.core.throttle import Limit, attempt_give_back, attempt_take

# Wrong codes: per agent (whoever guesses from one account), and per code (whoever guesses
# one code from many accounts). Counted before the check, given back on success.
AGENT_LIMIT = Limit("console-code-agent", attempts=30, window=dt.timedelta(hours=1))
CODE_LIMIT = Limit("console-code", attempts=5, window=dt.timedelta(minutes=15))

PAIR = AuditSubject.APPOINTMENT_PAIR


def _changed(user: Any, pairs: list[AppointmentPair], why: str, outcome: CallOutcome) -> None:
    for pair in pairs:
        audit_record(
            user=user, action=AuditAction.CHANGE, what=PAIR, which=pair.pk, why=why, detail=outcome
        )


def code_lookup(*, user: Any, code: object, why: str) -> tuple[str, CodeSet]:
    """Find a person by a booking code, nothing else (R4): the normalised code and its code
    set. Each attempt counts first against the agent and the code, a success gives it
    back; each attempt, found or not, is audited."""
    checks = [(AGENT_LIMIT, str(user.pk))]
    try:
        value = normalise_code(code)
        checks.append((CODE_LIMIT, value))
        attempt_take(checks)
        code_set = code_set_for(value)
    except ServiceError as error:
        audit_record(
            user=user,
            action=AuditAction.LOOKUP,
            what=AuditSubject.BOOKING_CODE,
            which="",
            why=why,
            detail=error.code,
        )
        raise
    for limit, key in checks:
        attempt_give_back(limit, key)
    audit_record(
        user=user,
        action=AuditAction.LOOKUP,
        what=AuditSubject.BOOKING_CODE,
        which=code_set.pk,
        why=why,
    )
    return value, code_set


def pair_viewed(*, user: Any, pair: AppointmentPair, why: str) -> None:
    audit_record(user=user, action=AuditAction.VIEW, what=PAIR, which=pair.pk, why=why)


def codes_book_for_caller(*, user: Any, why: str, **booking) -> PhoneBooking:
    """R1, R7: codes issued and pairs booked for a caller (see `codes_book_by_phone`). A lost
    race changes nothing and is not audited as a change."""
    with transaction.atomic():
        booked = codes_book_by_phone(**booking)
        if booked.result.booked:
            _changed(user, booked.result.pairs, why, CallOutcome.BOOKED)
    return booked


def code_rebook_for_caller(
    *,
    user: Any,
    code: str,
    first_slot_id: int,
    second_slot_id: int | None,
    why: str,
    together_with: list[str] | tuple[str, ...] = (),
) -> BookingResult:
    """R20, R7: the pair moves, with those booked together with it when their codes are given."""
    with transaction.atomic():
        result = code_rebook(
            code=code,
            first_slot_id=first_slot_id,
            second_slot_id=second_slot_id,
            together_with=together_with,
            channel=Channel.PHONE,
        )
        if result.booked:
            _changed(user, result.pairs, why, CallOutcome.REBOOKED)
    return result


def code_cancel_for_caller(*, user: Any, code: str, why: str) -> AppointmentPair:
    with transaction.atomic():
        pair = code_cancel(code=code)
        _changed(user, [pair], why, CallOutcome.CANCELLED)
    return pair
