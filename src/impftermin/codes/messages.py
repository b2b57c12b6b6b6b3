"""The codes flow's mails about a pair: the booking engine's, with how to manage the
booking with the code."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from impftermin.booking.messages import send_pair_cancellation, send_pair_confirmation
from impftermin.booking.models import AppointmentPair
from impftermin.codes.models import CodeSet

MANAGE_WITH_CODE = _(
    "Mit Ihrem Vermittlungscode können Sie Ihre Termine hier prüfen, verschieben oder stornieren: %(link)s"
)
BOOK_AGAIN_WITH_CODE = _(
    "Mit Ihrem Vermittlungscode können Sie jederzeit neue Termine buchen: %(link)s"
)


def _url(name: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name)


def send_booking_confirmation(
    person: CodeSet, pair: AppointmentPair, *, rebooked: bool = False
) -> None:
    send_pair_confirmation(
        recipient=person.email,
        language=person.language,
        pair=pair,
        manage=(MANAGE_WITH_CODE, _url("codes:check")),
        rebooked=rebooked,
    )


def send_cancellation(person: CodeSet, pair: AppointmentPair) -> None:
    send_pair_cancellation(
        recipient=person.email,
        language=person.language,
        pair=pair,
        again=(BOOK_AGAIN_WITH_CODE, _url("codes:book")),
    )
