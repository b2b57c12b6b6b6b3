"""Logging staff into the test client: the password step (force_login) and the second
factor, the way django_otp.login(request, device) records it in the session."""

from __future__ import annotations

import django_otp
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice


def staff_device(user) -> TOTPDevice:
    """The user's confirmed TOTP device (created with a random key if there is none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return device


def verified_log_in(client, user) -> TOTPDevice:
    """Log `user` in with the password step done and the second factor verified by a real
    device: the session holds what django_otp.login stores, OTPMiddleware checks it (the
    device must be the user's and confirmed) on every request."""
    client.force_login(user)
    device = staff_device(user)
    request = HttpRequest()
    request.session = client.session  # the logged-in session, loaded from its cookie
    request.user = user
    django_otp.login(request, device)
    request.session.save()
    return device
