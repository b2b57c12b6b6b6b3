"""Reading a staff member's second factor: is this request verified, which device, and what
an authenticator app needs to be set up (the otpauth URI, the key in base32)."""

from __future__ import annotations

import base64
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def is_verified(user) -> bool:
    """True when django-otp's OTPMiddleware found this session's device confirmed and
    the user's. Anything else (no middleware, anonymous, a plain user object) is False:
    fail closed."""
    check = getattr(user, "is_verified", None)
    return bool(callable(check) and check())


def is_staff_member(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def needs_second_factor(user) -> bool:
    """A staff member who has given the password but not yet the code."""
    return is_staff_member(user) and not is_verified(user)


def staff_with_permission(permission: str) -> QuerySet:
    """Active staff members who hold `permission` ("app_label.codename") through a role,
    directly, or as superusers; by username."""
    app_label, codename = permission.split(".", 1)
    granted = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    return (
        users.filter(
            Q(groups__permissions__in=granted)
            | Q(user_permissions__in=granted)
            | Q(is_superuser=True)
        )
        .distinct()
        .order_by("username")
    )


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def device_secret(device: TOTPDevice) -> str:
    """The key as an authenticator app takes it by hand: base32 in groups of four."""
    text = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def device_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI of the QR code (issuer OTP_TOTP_ISSUER, label the username)."""
    return device.config_url


def code_now(device: TOTPDevice, *, at: float | None = None) -> tuple[str, int]:
    """The device's current code, as an authenticator app shows it, and the seconds it has
    left. For the development's demo_totp only."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() if at is None else at
    left = device.step - int(totp.time - device.t0) % device.step
    return f"{totp.token():0{device.digits}d}", left
