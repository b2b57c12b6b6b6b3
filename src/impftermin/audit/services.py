"""Writing the audit log: one entry per access of a staff member to personal data."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from impftermin.audit.models import AuditAction, AuditEntry, AuditSubject
from impftermin.core.errors import ServiceError

WHICH_MAX = AuditEntry._meta.get_field("which").max_length
WHY_MAX = AuditEntry._meta.get_field("why").max_length
DETAIL_MAX = AuditEntry._meta.get_field("detail").max_length


def _is_staff(user: Any) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
        and getattr(user, "pk", None) is not None
    )


def _text(value: object, *, limit: int, code: str, field: str) -> str:
    if not isinstance(value, str):
        raise ServiceError(f"audit_{field}_invalid", _("Ungültige Angabe."), field=field)
    value = value.strip()
    if len(value) > limit:
        raise ServiceError(
            code,
            _("Bitte höchstens %(limit)d Zeichen eingeben."),
            field=field,
            limit=limit,
        )
    return value


@transaction.atomic
def audit_records(
    *, user: Any, action: str, what: str, whiches: list[int], why: str = "", detail: str = ""
) -> int:
    """One entry per record shown at once (e.g. the day's list at a centre), written in one
    statement, so that "who saw record X?" has an answer for each of them."""
    first = audit_record(
        user=user,
        action=action,
        what=what,
        which=whiches[0] if whiches else "",
        why=why,
        detail=detail,
    )  # checks everything once
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                user=user, username=first.username, action=first.action, what=first.what,
                which=str(which), why=first.why, detail=first.detail,
            )
            for which in whiches[1:]
        ]
    )  # fmt: skip
    return max(len(whiches), 1)


@transaction.atomic
def audit_record(
    *,
    user: Any,
    action: str,
    what: str,
    which: int | str,
    why: str = "",
    detail: str = "",
) -> AuditEntry:
    """Record that `user` (a staff member) did `action` on the record `which` of kind
    `what`, for the reason `why` (the call's reason; empty where nobody gives one).
    `which` is an id, `detail` names fields: neither may hold personal data."""
    if not _is_staff(user):
        raise ServiceError(
            "audit_not_staff",
            _("Nur angemeldete Mitarbeiterinnen und Mitarbeiter haben Zugriff auf diese Daten."),
            field="user",
        )
    if not isinstance(action, str) or action not in AuditAction.values:
        raise ServiceError(
            "audit_action_unknown", _("Diese Protokollaktion gibt es nicht."), field="action"
        )
    if not isinstance(what, str) or what not in AuditSubject.values:
        raise ServiceError(
            "audit_what_unknown", _("Diese Art von Datensatz gibt es nicht."), field="what"
        )
    if isinstance(which, int) and not isinstance(which, bool):
        which = str(which)
    which = _text(which, limit=WHICH_MAX, code="audit_which_too_long", field="which")
    why = _text(why, limit=WHY_MAX, code="audit_why_too_long", field="why")
    detail = _text(detail, limit=DETAIL_MAX, code="audit_detail_too_long", field="detail")
    return AuditEntry.objects.create(
        user=user,
        username=user.get_username(),
        action=action,
        what=what,
        which=which,
        why=why,
        detail=detail,
    )
