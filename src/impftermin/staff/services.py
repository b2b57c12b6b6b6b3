"""Staff accounts' writers: the roles as auth groups, and the second factor (TOTP).

The second factor is django-otp's TOTPDevice: one confirmed device per staff member, set up
by the member after the password (enrolment: an unconfirmed device with a fresh key,
confirmed by its first code). Every code is checked under the device's row lock, against
django-otp's throttle (each wrong code doubles the wait before the next is even looked at:
1, 2, 4, 8 … seconds; OTP_TOTP_THROTTLE_FACTOR) and its replay guard (a code is accepted
once). A lost phone: an admin deletes the device in the admin; the member sets up a new one
at the next log-in.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from impftermin.core.errors import ServiceError
from impftermin.core.throttle import Limit, attempt_give_back, attempt_take
from impftermin.staff.roles import ALL, ROLES, Role

DEVICE_NAME = "Authenticator-App"

CODE_WRONG = _("Der Code stimmt nicht. Bitte geben Sie den aktuellen Code aus Ihrer App ein.")


# --- roles -----------------------------------------------------------------------------------


@dataclass
class RolesSetupResult:
    groups_created: list[str] = field(default_factory=list)
    permissions_added: int = 0
    permissions_removed: int = 0
    # Permissions of apps not installed (yet), created under the content type Django will
    # give them: the grant holds as soon as the app is there.
    created_ahead: list[str] = field(default_factory=list)


@transaction.atomic
def roles_setup() -> RolesSetupResult:
    """Create or correct the group of every role in roles.py so that it holds exactly the
    role's permissions: missing ones are added, others removed. Idempotent; run after every
    migrate (`manage.py setup_roles`)."""
    result = RolesSetupResult()
    for role in ROLES:
        group, created = Group.objects.get_or_create(name=role.group)
        if created:
            result.groups_created.append(role.group)
        wanted = {permission.pk for permission in role_permissions(role, result)}
        held = set(group.permissions.values_list("pk", flat=True))
        group.permissions.add(*(wanted - held))
        group.permissions.remove(*(held - wanted))
        result.permissions_added += len(wanted - held)
        result.permissions_removed += len(held - wanted)
    return result


def role_permissions(role: Role, result: RolesSetupResult | None = None) -> list[Permission]:
    return [_permission(name, result) for name in sorted(role.permissions)]


def _permission(name: str, result: RolesSetupResult | None) -> Permission:
    app_label, _dot, codename = name.partition(".")
    found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if found is not None:
        return found
    try:
        app_config = apps.get_app_config(app_label)
    except LookupError:
        return _permission_ahead(name, app_label, codename, result)
    # Installed, but its permissions are not there yet (migrate makes them after all of an
    # app's migrations; this may run first): make them the way migrate does.
    create_permissions(app_config, verbosity=0)
    found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if found is None:
        raise _unknown(name)
    return found


def _permission_ahead(
    name: str, app_label: str, codename: str, result: RolesSetupResult | None
) -> Permission:
    """A model permission of an app that is not installed yet: created now under the
    content type (app_label, model) that the app's own migrate will find and reuse."""
    action, _underscore, model = codename.partition("_")
    if action not in ALL or not model:
        raise _unknown(name)
    content_type, _created = ContentType.objects.get_or_create(app_label=app_label, model=model)
    permission, created = Permission.objects.get_or_create(
        content_type=content_type, codename=codename, defaults={"name": f"Can {action} {model}"}
    )
    if created and result is not None:
        result.created_ahead.append(name)
    return permission


def _unknown(name: str) -> ServiceError:
    return ServiceError(
        "permission_unknown",
        _("Die Berechtigung %(permission)s gibt es nicht (staff/roles.py)."),
        permission=name,
    )


# --- the second factor -------------------------------------------------------------------------


def _code_error(device: TOTPDevice, code: str) -> ServiceError | None:
    """Check `code` against the device (locked by the caller). None when it is right."""
    allowed, details = device.verify_is_allowed()
    if not allowed:
        locked_until = (details or {}).get("locked_until") or timezone.now()
        return throttled(math.ceil((locked_until - timezone.now()).total_seconds()))
    if device.verify_token(code):  # counts a failure (saved) or resets the count
        return None
    return ServiceError("code_wrong", CODE_WRONG, field="code")


def throttled(seconds: int) -> ServiceError:
    seconds = max(1, seconds)
    if seconds < 120:
        message = _(
            "Zu viele falsche Codes. Bitte warten Sie %(seconds)s Sekunden und geben Sie dann den aktuellen Code ein."
        )
        return ServiceError(
            "throttled", message, field="code", seconds=seconds, retry_after=seconds
        )
    message = _(
        "Zu viele falsche Codes. Bitte warten Sie %(minutes)s Minuten und geben Sie dann den aktuellen Code ein."
    )
    minutes = math.ceil(seconds / 60)
    return ServiceError("throttled", message, field="code", minutes=minutes, retry_after=seconds)


def totp_verify(*, user, code: str) -> TOTPDevice:
    """The staff member's confirmed device, if `code` is its current code; else
    ServiceError `code_wrong`, `throttled` or `no_device`."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        error = (
            ServiceError("no_device", _("Richten Sie zuerst Ihren zweiten Faktor ein."))
            if device is None
            else _code_error(device, code)
        )
    # Raised outside the transaction: the counted failure stays saved.
    if error is not None:
        raise error
    return device


def totp_enrolment_start(*, user) -> TOTPDevice:
    """The device the staff member is setting up: their unconfirmed device, else a new one
    with a fresh random key (django-otp: 20 bytes from os.urandom). Refused once they have
    a confirmed device: replacing it goes through an admin."""
    with transaction.atomic():
        # One enrolment at a time per person: parallel requests wait here.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise _already_set_up()
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def totp_enrolment_confirm(*, user, code: str) -> TOTPDevice:
    """Confirm the device being set up with its first code: from now on the staff member
    logs in with it. Wrong codes count and are throttled as at log-in."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-pk")
            .first()
        )
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            error = _already_set_up()
        elif device is None:
            error = ServiceError(
                "no_enrolment", _("Die Einrichtung ist abgelaufen. Bitte beginnen Sie neu.")
            )
        else:
            error = _code_error(device, code)
            if error is None:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    if error is not None:
        raise error
    return device


def _already_set_up() -> ServiceError:
    return ServiceError(
        "second_factor_exists",
        _("Ihr zweiter Faktor ist schon eingerichtet. Einen neuen richtet die Administration ein."),
    )


def totp_device_provision(*, user, key: str) -> tuple[TOTPDevice, bool]:
    """Give the user a confirmed device with a known hex key, unless they have one (kept
    as it is). For the demo accounts; True if it was created."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        if device is not None:
            return device, False
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice(user=user, name=DEVICE_NAME, key=key, confirmed=True)
        device.full_clean(exclude=["user"])
        device.save()
    return device, True


def totp_devices_reset(*, device_ids: list[int]) -> int:
    """Delete these devices (a lost or new phone): their staff members set up a new app
    at their next log-in; a session verified with one of them is no longer verified."""
    with transaction.atomic():
        deleted, _by_model = TOTPDevice.objects.filter(pk__in=device_ids).delete()
    return deleted


# Staff passwords are long and rare to mistype; a call center logs in from one address. The
# tight limit is per account *and* address, so that nobody can lock a staff member out from
# elsewhere; the account-wide limit, far higher, stops guessing spread over many addresses
# (and the second factor stands behind the password anyway).
PASSWORD_LOG_IN_PER_ACCOUNT_AND_CLIENT = Limit(
    "staff-log-in-account-client", 10, dt.timedelta(minutes=15)
)
PASSWORD_LOG_IN_PER_ACCOUNT = Limit("staff-log-in-account", 100, dt.timedelta(hours=1))
PASSWORD_LOG_IN_PER_CLIENT = Limit("staff-log-in-client", 50, dt.timedelta(hours=1))


def _password_log_in_checks(username: str, client: str) -> list[tuple[Limit, str]]:
    account = username.strip().casefold()
    return [
        (PASSWORD_LOG_IN_PER_ACCOUNT_AND_CLIENT, f"{account}\x1f{client}"),
        (PASSWORD_LOG_IN_PER_ACCOUNT, account),
        (PASSWORD_LOG_IN_PER_CLIENT, client),
    ]


def password_log_in_attempt(*, username: str, client: str) -> None:
    """Count a staff password attempt before the password is checked (parallel guesses
    cannot outrun it), per account name (whether it exists or not) and per client;
    raises ServiceError `throttled` beyond the limits."""
    attempt_take(_password_log_in_checks(username, client))


def password_log_in_succeeded(*, username: str, client: str) -> None:
    """The right password: its attempt does not count against the account or the client."""
    for limit, key in _password_log_in_checks(username, client):
        attempt_give_back(limit, key)
