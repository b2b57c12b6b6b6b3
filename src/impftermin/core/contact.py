"""Contact data as people type it: mobile numbers, German or international."""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError

MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def normalise_mobile(raw: object) -> str:
    """A mobile number in E.164 (+4915112345678), German or international; else an error."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        raise ServiceError(
            "mobile_invalid", _("Bitte geben Sie eine gültige Mobilnummer an."), field="mobile"
        )
    try:
        number = phonenumbers.parse(raw, "DE")
    except phonenumbers.NumberParseException:
        raise ServiceError(
            "mobile_invalid", _("Bitte geben Sie eine gültige Mobilnummer an."), field="mobile"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ServiceError(
            "mobile_invalid", _("Bitte geben Sie eine gültige Mobilnummer an."), field="mobile"
        )
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ServiceError(
            "mobile_not_mobile",
            _("Die SMS-PIN kann nur an eine Mobilnummer gesendet werden."),
            field="mobile",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
