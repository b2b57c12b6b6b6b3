"""The e-mails about a pair, for every channel: confirmation (with a calendar file and the
note that nothing needs printing, R10) and cancellation. Each is composed in the person's
language and queued in the transaction of the booking change; the channel adds its own
line on how to manage the booking (with the code, by logging in, …)."""

from __future__ import annotations

from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from impftermin.booking.calendar import appointments_calendar
from impftermin.booking.models import AppointmentPair, AppointmentStatus
from impftermin.booking.selectors import pair_appointments
from impftermin.notifications.services import (
    Attachment,
    Message,
    message_send_later,
    messages_send_later,
)

WHAT_TO_BRING = gettext_lazy(
    "Bitte bringen Sie mit: einen Lichtbildausweis (Personalausweis oder Reisepass), Ihre Krankenversichertenkarte und, falls vorhanden, Ihren Impfpass."
)
NO_PRINTOUT = gettext_lazy(
    "Einen Ausdruck oder QR-Code brauchen Sie nicht: Ihre Buchung ist im Impfzentrum hinterlegt."
)


def when(start) -> str:
    """A date and time as mails and pages show it, in the active language."""
    return formats.date_format(timezone.localtime(start), _("l, j. F Y, H:i"))


def appointment_line(dose: int, start) -> str:
    return _("%(dose)d. Impfung: %(when)s Uhr") % {"dose": dose, "when": when(start)}


def _appointment_lines(pair: AppointmentPair, status: str) -> str:
    lines = [appointment_line(a.dose, a.slot.start) for a in pair_appointments(pair, status)]
    if status == AppointmentStatus.BOOKED and pair.second_dose_at_centre:
        lines.append(
            _("2. Impfung: Der Termin wird Ihnen bei der 1. Impfung im Impfzentrum gegeben.")
        )
    return "\n".join(lines)


def _place(pair: AppointmentPair) -> str:
    centre = pair.centre
    return f"{centre.name}\n{centre.street}\n{centre.postcode} {centre.city}"


def send_pair_confirmation(**fields) -> None:
    messages_send_later([pair_confirmation(**fields)])


def pair_confirmation(
    *,
    recipient: str,
    language: str,
    pair: AppointmentPair,
    manage: tuple[Promise, str],
    rebooked: bool = False,
    intro: Promise | None = None,
    calendar_file: bool = True,
) -> Message:
    """The confirmation mail of a pair. `manage`: a text with %(link)s and the link, on
    how to check or change it."""
    with translation.override(language):
        subject = _("Ihre Impftermine wurden verschoben") if rebooked else _("Ihre Impftermine")
        intro = (
            str(intro)
            if intro
            else (
                _("Ihre Termine wurden verschoben. Es gelten nur noch diese Termine:")
                if rebooked
                else _("für Sie sind diese Termine gebucht:")
            )
        )
        body = "\n\n".join(
            [
                _("Guten Tag,"),
                intro,
                _appointment_lines(pair, AppointmentStatus.BOOKED),
                _("Ort:") + "\n" + _place(pair),
                _("Impfstoff: %(vaccine)s") % {"vaccine": pair.vaccine.name},
                str(WHAT_TO_BRING),
                str(NO_PRINTOUT),
                str(manage[0]) % {"link": manage[1]},
            ]
            + (
                [_("Die Termine finden Sie auch als Kalenderdatei im Anhang.")]
                if calendar_file
                else []
            )
        )
        calendar = appointments_calendar(pair) if calendar_file else None
    return Message(
        channel="email",
        kind="booking_rebooked" if rebooked else "booking_confirmation",
        recipient=recipient,
        subject=subject,
        body=body,
        language=language,
        attachment=Attachment("impftermine.ics", "text/calendar", calendar) if calendar else None,
        holder=pair.holder,
    )


def send_pair_cancellation(
    *, recipient: str, language: str, pair: AppointmentPair, again: tuple[Promise, str]
) -> None:
    """`again`: a text with %(link)s and the link, on how to get new appointments."""
    with translation.override(language):
        body = "\n\n".join(
            [
                _("Guten Tag,"),
                _("Ihre Termine sind storniert:"),
                _appointment_lines(pair, AppointmentStatus.CANCELLED),
                _("Ort:") + "\n" + _place(pair),
                str(again[0]) % {"link": again[1]},
            ]
        )
        subject = _("Ihre Impftermine sind storniert")
        calendar = appointments_calendar(pair, cancelled=True)
    message_send_later(
        channel="email",
        kind="booking_cancelled",
        recipient=recipient,
        subject=subject,
        body=body,
        language=language,
        attachment=Attachment("impftermine-storniert.ics", "text/calendar", calendar),
        holder=pair.holder,
    )
