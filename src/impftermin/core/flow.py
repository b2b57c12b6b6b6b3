"""A multi-step flow's state in the server-side session: kept for an hour at most and only
while the browser is open (nothing of a booking or registration outlives the visit on a
shared computer), and never trusted to hold the shape it should."""

from __future__ import annotations

import secrets
import time

from django.http import HttpRequest

FLOW_SECONDS = 60 * 60


def remember(request: HttpRequest, key: str, value: dict | str | int) -> None:
    request.session[key] = {"value": value, "until": time.time() + FLOW_SECONDS}
    request.session.set_expiry(0)


def recall(request: HttpRequest, key: str, kind: type = dict):
    """A step's state, or None when there is none, it ran out, or it is not what we
    stored."""
    stored = request.session.get(key)
    if not isinstance(stored, dict) or not isinstance(stored.get("until"), float | int):
        return None
    if stored["until"] < time.time() or not isinstance(stored.get("value"), kind):
        request.session.pop(key, None)
        return None
    return stored["value"]


def forget(request: HttpRequest, *keys: str) -> None:
    for key in keys:
        request.session.pop(key, None)


def page_nonce(request: HttpRequest, key: str) -> str:
    """The nonce of a choice page: new each time the page is shown (GET), the same while
    its form is posted. A POST carrying another nonce comes from a page made before."""
    nonce = recall(request, key, kind=str)
    if request.method == "GET" or nonce is None:
        nonce = secrets.token_urlsafe(8)
        remember(request, key, nonce)
    return nonce
