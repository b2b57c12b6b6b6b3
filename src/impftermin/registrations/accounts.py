"""The person's account (R15, R16, R21): log-in with Vorgangskennung and password, password
reset by e-mail link. Log-in failures are throttled per Vorgangskennung and per client, and
every refusal reads the same whether the Vorgangskennung exists or not (no enumeration)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from impftermin.booking.models import Channel
from impftermin.core import identifiers
from impftermin.core.errors import ServiceError
from impftermin.core.passwords import password_hash
from impftermin.core.throttle import Limit, attempt_give_back, attempt_take, attempts_clear
from impftermin.notifications.services import Message, messages_send_later
from impftermin.registrations.models import Registration, RegistrationStatus
from impftermin.registrations.services import normalise_vorgangskennung

# Five wrong passwords lock a Vorgangskennung for a quarter of an hour: about 480 guesses a
# day against one account, hopeless against a password that passed the validators.
LOGIN_PER_VORGANGSKENNUNG = Limit("login-vorgangskennung", 5, dt.timedelta(minutes=15))
# One client trying many Vorgangskennungen (a household behind one address tries a few).
LOGIN_PER_CLIENT = Limit("login-client", 30, dt.timedelta(hours=1))
RESET_PER_VORGANGSKENNUNG = Limit("reset-vorgangskennung", 3, dt.timedelta(hours=1))
RESET_PER_CLIENT = Limit("reset-client", 20, dt.timedelta(hours=1))

LOGIN_FAILED = _(
    "Vorgangskennung oder Passwort stimmen nicht. Haben Sie sich telefonisch registriert, "
    "haben Sie kein Passwort: Ihre Termine ändern Sie dann über die Hotline."
)
# Spends the same time on an unknown Vorgangskennung as on a wrong password.
_DUMMY_HASH = make_password("not the password of anyone")


def registration_log_in(*, vorgangskennung: object, password: object, client: str) -> Registration:
    """The registration whose Vorgangskennung and password these are (R16). `client` names
    the caller for throttling (the IP address). Phone registrations have no password and
    cannot log in (R21), deleted ones cannot either; a registration held for review (R14)
    can, and its account says so."""
    try:
        value = normalise_vorgangskennung(vorgangskennung)
    except ServiceError:
        value = str(vorgangskennung)[:40]
    attempt_take([(LOGIN_PER_VORGANGSKENNUNG, value), (LOGIN_PER_CLIENT, client)])
    registration = (
        Registration.objects.filter(vorgangskennung=value, channel=Channel.ONLINE)
        .exclude(status=RegistrationStatus.DELETED)
        .exclude(password="")
        .first()
    )
    given = password if isinstance(password, str) else ""
    matches = check_password(given, registration.password if registration else _DUMMY_HASH)
    if registration is None or not matches:
        raise ServiceError("login_failed", LOGIN_FAILED, field="vorgangskennung")
    attempts_clear(LOGIN_PER_VORGANGSKENNUNG, value)
    attempt_give_back(LOGIN_PER_CLIENT, client)
    return registration


def session_hash(registration: Registration) -> str:
    """Kept in the session at log-in: a new password makes every older session invalid
    (log-out everywhere after a reset)."""
    return salted_hmac("registration-session", registration.password).hexdigest()


def session_valid(registration: Registration, stored: object) -> bool:
    return isinstance(stored, str) and constant_time_compare(stored, session_hash(registration))


# --- password reset by e-mail link (R16) ---------------------------------------------------


class _ResetTokens(PasswordResetTokenGenerator):
    """Django's signed, expiring reset tokens (PASSWORD_RESET_TIMEOUT), bound to the
    registration's password: once used, a token is void."""

    key_salt = "impftermin.registrations.password-reset"

    def _make_hash_value(self, registration, timestamp):
        # The password makes a link single-use; deleted registrations are never looked up.
        return f"{registration.pk}{registration.password}{timestamp}"


reset_tokens = _ResetTokens()

RESET_TEXT = _(
    "Guten Tag,\n\nfür die Registrierung %(vorgangskennung)s wurde ein neues Passwort "
    "angefordert. Mit diesem Link setzen Sie es; er gilt %(hours)s Stunde(n):\n\n%(link)s\n\n"
    "Haben Sie das nicht angefordert, beachten Sie diese E-Mail nicht: Ihr Passwort bleibt, "
    "wie es ist."
)


def password_reset_request(*, vorgangskennung: object, email: object, client: str) -> None:
    """Mail a reset link when Vorgangskennung and e-mail address belong to one online
    registration; otherwise do nothing. The caller shows the same page either way, so the
    page tells nobody whether a registration exists."""
    try:
        value = normalise_vorgangskennung(vorgangskennung)
    except ServiceError:
        value = str(vorgangskennung)[:40]
    # Every request counts, successful or not: each may send a mail.
    attempt_take([(RESET_PER_VORGANGSKENNUNG, value), (RESET_PER_CLIENT, client)])
    if not isinstance(email, str) or not email.strip():
        return
    registration = (
        Registration.objects.filter(
            vorgangskennung=value, channel=Channel.ONLINE, email__iexact=email.strip()
        )
        .exclude(status=RegistrationStatus.DELETED)
        .first()
    )
    if registration is None:
        return
    uid = urlsafe_base64_encode(force_bytes(registration.pk))
    token = reset_tokens.make_token(registration)
    with translation.override(registration.language):
        path = reverse("registrations:password_reset", args=[uid, token])
        messages_send_later(
            [
                Message(
                    channel="email",
                    kind="password_reset",
                    recipient=registration.email,
                    subject=str(_("Neues Passwort für Ihre Registrierung")),
                    body=str(RESET_TEXT)
                    % {
                        "vorgangskennung": identifiers.grouped(registration.vorgangskennung),
                        "hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
                        "link": settings.SITE_URL.rstrip("/") + path,
                    },
                    language=registration.language,
                    holder=registration.holder,
                )
            ]
        )


RESET_LINK_INVALID = _(
    "Dieser Link ist ungültig oder abgelaufen. Bitte fordern Sie einen neuen an."
)


def password_reset_registration(*, uid: object, token: object) -> Registration:
    """The registration a reset link is for, while the link is valid."""
    try:
        pk = int(urlsafe_base64_decode(str(uid)).decode())
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError):
        pk = None
    registration = (
        Registration.objects.filter(pk=pk, channel=Channel.ONLINE)
        .exclude(status=RegistrationStatus.DELETED)
        .first()
        if pk is not None and 0 < pk < 2**63
        else None
    )
    if registration is None or not reset_tokens.check_token(registration, str(token)):
        raise ServiceError("link_invalid", RESET_LINK_INVALID)
    return registration


@transaction.atomic
def password_reset_set(*, uid: object, token: object, password: object) -> Registration:
    """Set the new password from a valid link; the link and every open session end."""
    registration = password_reset_registration(uid=uid, token=token)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if not reset_tokens.check_token(registration, str(token)):  # used meanwhile
        raise ServiceError("link_invalid", RESET_LINK_INVALID)
    registration.password = password_hash(password, registration)
    registration.save(update_fields=["password"])
    attempts_clear(LOGIN_PER_VORGANGSKENNUNG, registration.vorgangskennung)
    return registration
