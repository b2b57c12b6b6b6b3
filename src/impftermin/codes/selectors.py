"""Read-only queries about booking codes for pages."""

from __future__ import annotations

from django.utils import timezone

from impftermin.audit.models import AuditSubject
from impftermin.booking.selectors import holder_export
from impftermin.codes.models import CodeSet


def code_set_export(code_set: CodeSet) -> dict:
    """Everything we hold about the person behind a set of booking codes (GDPR Art. 15):
    their contact data, their appointments, the messages sent to them, and when staff looked
    at it. The codes themselves are theirs already."""
    mobile = code_set.pin_request.mobile if code_set.pin_request_id else ""
    mobile = mobile if mobile.startswith("+") else ""  # erased (retention): not a number
    return {
        "exported_at": timezone.localtime().isoformat(),
        "booking_codes": {
            "region": code_set.region.name,
            "vaccine": code_set.vaccine.name if code_set.vaccine_id else None,
            "issued_at": timezone.localtime(code_set.created_at).isoformat(),
            "issued_by": code_set.get_channel_display(),
            "email": code_set.email,
            "mobile": mobile,
            "language": code_set.language,
        },
        **holder_export(holder=code_set.holder, what=AuditSubject.BOOKING_CODE, which=code_set.pk),
    }
