"""Inactivity expiry for staff: a staff session ends after STAFF_IDLE_MINUTES without a
request, and when the browser closes. Citizens' sessions are not touched (they have no
Django user; their flows keep their own hour, core/flow.py)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest
from django.utils.translation import gettext as _

from impftermin.staff.redirects import log_in_redirect

LAST_SEEN = "staff_last_seen"


class StaffIdleMiddleware:
    """After AuthenticationMiddleware (request.user) and MessageMiddleware (the notice)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN)
            idle = settings.STAFF_IDLE_MINUTES * 60
            if isinstance(last_seen, int | float) and now - last_seen > idle:
                logout(request)  # the whole session: user, second factor, everything
                messages.info(
                    request,
                    _(
                        "Sie waren %(minutes)d Minuten nicht aktiv und wurden zu Ihrer "
                        "Sicherheit abgemeldet. Bitte melden Sie sich wieder an."
                    )
                    % {"minutes": settings.STAFF_IDLE_MINUTES},
                )
                return log_in_redirect(request)
            request.session[LAST_SEEN] = now
            request.session.set_expiry(0)  # and at the latest when the browser closes
        return self.get_response(request)
