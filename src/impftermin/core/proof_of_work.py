"""Proof of work against bots (issue 9), on the forms that a bot would repeat: PIN
requests, registrations, log-ins and bookings.

The page carries an ALTCHA challenge signed with our key (django-altcha's, served from our
own static files, no third party); the browser's script finds the number whose SHA-256
hash matches, about PROOF_OF_WORK_MAX_NUMBER / 2 tries, a second or so on a phone, and
sends it with the form. Each challenge is good for one submission within 20 minutes: its
use is counted in the database (core.throttle), so a solution cannot be replayed, in
parallel either, and losing the cache does not reopen it.

Without JavaScript (or when the widget's script cannot run) there is no work to show; the
page's signed time-lock, in a field of its own, is sent instead: accepted once, no sooner
than PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS after it was served, and no more than
PROOF_OF_WORK_NO_SCRIPT_PER_MINUTE of them a minute for the whole service, so that this
way round the work cannot become the bots' bulk route.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time

import altcha
from django import forms
from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_altcha import get_altcha_challenge

from impftermin.core.errors import ServiceError
from impftermin.core.throttle import Limit, attempt_take, rate_take

NO_SCRIPT_PREFIX = "waited:"
WAITED_SUFFIX = "_waited"  # the time-lock's own field, beside the widget's
_NO_SCRIPT_SALT = "impftermin.proof-of-work.waited"


def _challenge_lifetime() -> dt.timedelta:
    return dt.timedelta(milliseconds=settings.ALTCHA_CHALLENGE_EXPIRE)


def _used_once(kind: str, value: str) -> None:
    """Count the use of a challenge or time-lock; the second use is refused."""
    try:
        attempt_take([(Limit(f"proof-of-work-{kind}", 1, _challenge_lifetime()), value)])
    except ServiceError as error:
        raise forms.ValidationError(
            _("Diese Prüfung wurde schon verwendet. Bitte senden Sie das Formular erneut ab."),
            code="replay",
        ) from error


def waited_token_new() -> str:
    return NO_SCRIPT_PREFIX + signing.dumps(
        {"n": secrets.token_urlsafe(12), "t": int(time.time())}, salt=_NO_SCRIPT_SALT
    )


def _waited_check(token: str) -> None:
    """Signature, age, single use, then the service's budget: a replayed or early token
    is refused before it can use up the budget of those without JavaScript."""
    max_age = _challenge_lifetime().total_seconds()
    try:
        data = signing.loads(token, salt=_NO_SCRIPT_SALT, max_age=max_age)
        issued, nonce = int(data["t"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise forms.ValidationError(_INVALID, code="invalid") from error
    wait = settings.PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS
    if time.time() - issued < wait:
        raise forms.ValidationError(
            ngettext_lazy(
                "Bitte warten Sie nach dem Laden der Seite %(seconds)s Sekunde, bevor Sie das Formular absenden.",
                "Bitte warten Sie nach dem Laden der Seite %(seconds)s Sekunden, bevor Sie das Formular absenden.",
                "seconds",
            ),
            code="too_soon",
            params={"seconds": wait},
        )
    _used_once("waited", nonce)
    per_minute = settings.PROOF_OF_WORK_NO_SCRIPT_PER_MINUTE
    try:  # in the cache: no database row that every such form would wait for
        rate_take(Limit("proof-of-work-no-script", per_minute, dt.timedelta(minutes=1)), "all")
    except ServiceError as error:
        raise forms.ValidationError(
            _(
                "Gerade senden sehr viele Browser ohne JavaScript. Bitte versuchen Sie es in einer Minute erneut oder schalten Sie JavaScript ein."
            ),
            code="busy",
        ) from error


_INVALID = _(
    "Die Prüfung gegen automatische Anfragen ist fehlgeschlagen oder abgelaufen. Bitte senden Sie das Formular erneut ab."
)


def proof_check(value: str) -> None:
    """Raise ValidationError unless `value` is a fresh, unused solution of one of our
    challenges (or, without JavaScript, a time-lock that has run out)."""
    if value.startswith(NO_SCRIPT_PREFIX):
        _waited_check(value.removeprefix(NO_SCRIPT_PREFIX))
        return
    try:
        verified, _error = altcha.verify_solution(
            value, settings.ALTCHA_HMAC_KEY, check_expires=True
        )
        challenge = str(json.loads(base64.b64decode(value))["challenge"]) if verified else ""
    except Exception as error:  # a forged payload may break the library's parsing anywhere
        raise forms.ValidationError(_INVALID, code="invalid") from error
    if not verified:
        raise forms.ValidationError(_INVALID, code="invalid")
    _used_once("solution", challenge)


def _widget_strings() -> str:
    return json.dumps(
        {
            "label": str(_("Prüfung gegen automatische Anfragen")),
            "verifying": str(_("Wird geprüft …")),
            "verified": str(_("Geprüft")),
            "waitAlert": str(_("Wird geprüft … bitte warten.")),
            "verificationRequired": str(_("Bitte warten Sie, bis die Prüfung abgeschlossen ist.")),
            "error": str(_("Die Prüfung ist fehlgeschlagen. Bitte laden Sie die Seite neu.")),
            "expired": str(_("Die Prüfung ist abgelaufen. Bitte laden Sie die Seite neu.")),
            "footer": "",
        },
        ensure_ascii=False,
    )


class ProofOfWorkWidget(forms.Widget):
    """The ALTCHA widget, solving as soon as the page has loaded; a fresh challenge and
    time-lock each time the form is shown."""

    template_name = "core/widgets/proof_of_work.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, None, attrs)
        challenge = get_altcha_challenge(max_number=settings.PROOF_OF_WORK_MAX_NUMBER)
        context["widget"].update(
            challenge_json=json.dumps(challenge.to_dict()),
            strings_json=_widget_strings(),
            waited_token=waited_token_new(),
            wait_seconds=settings.PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS,
        )
        return context

    def value_from_datadict(self, data, files, name):
        """The widget's solution; without it (no JavaScript, or a script that could not
        run) the page's time-lock."""
        return data.get(name) or data.get(f"{name}{WAITED_SUFFIX}", "")


class ProofOfWorkField(forms.CharField):
    widget = ProofOfWorkWidget
    default_error_messages = {"required": _INVALID, "max_length": _INVALID}

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Prüfung gegen automatische Anfragen"))
        kwargs.setdefault("max_length", 4000)
        super().__init__(**kwargs)

    def clean(self, value):
        if not settings.ALTCHA_VERIFICATION_ENABLED:
            return ""
        value = super().clean(value)
        proof_check(value)
        return value


class ProofOfWorkForm(forms.Form):
    """A form that a citizen's browser sends with a proof of work (the field `altcha`, last).
    `proof_of_work=False` leaves it out where staff fill the same form (the call center)."""

    proof_of_work = True

    def __init__(self, *args, proof_of_work: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.proof_of_work if proof_of_work is None else proof_of_work:
            self.fields["altcha"] = ProofOfWorkField()
