"""Citizens' passwords: checked by the project's validators, stored as Argon2 hashes."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError


def password_hash(password: object, person: object = None) -> str:
    """The hash of a password that passed the validators (length, common passwords, not
    all digits, and — given `person` with first_name, last_name, email — not like them)."""
    if not isinstance(password, str) or not password:
        raise ServiceError(
            "password_missing", _("Bitte wählen Sie ein Passwort."), field="password"
        )
    if len(password) > 256:
        raise ServiceError(
            "password_weak",
            _("Das Passwort ist zu lang (höchstens 256 Zeichen)."),
            field="password",
        )
    try:
        validate_password(password, user=person)
    except ValidationError as error:
        raise ServiceError("password_weak", " ".join(error.messages), field="password") from None
    return make_password(password)
