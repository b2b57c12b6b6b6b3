"""The e-mails of the codes flow about bookings: confirmation (with a calendar file and
the note that nothing needs printing, R10) and cancellation. Each is composed in the
person's language and queued in the transaction of the booking change."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from impftermin.booking.calendar import appointments_calendar
from impftermin.booking.models import AppointmentPair, AppointmentStatus
from impftermin.booking.selectors import booked_appointments
from impftermin.codes.models import PinRequest
from impftermin.notifications.services import Attachment, message_send_later

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
    appointments = (
        booked_appointments(pair)
        if status == AppointmentStatus.BOOKED
        else pair.appointments.filter(status=status).select_related("slot").order_by("dose")
    )
    lines = [appointment_line(a.dose, a.slot.start) for a in appointments]
    if status == AppointmentStatus.BOOKED and pair.second_dose_at_centre:
        lines.append(
            _("2. Impfung: Der Termin wird Ihnen bei der 1. Impfung im Impfzentrum gegeben.")
        )
    return "\n".join(lines)


def _place(pair: AppointmentPair) -> str:
    centre = pair.centre
    return f"{centre.name}\n{centre.street}\n{centre.postcode} {centre.city}"


def _check_link() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("codes:check")


def send_booking_confirmation(
    person: PinRequest, pair: AppointmentPair, *, rebooked: bool = False
) -> None:
    with translation.override(person.language):
        subject = _("Ihre Impftermine wurden verschoben") if rebooked else _("Ihre Impftermine")
        intro = (
            _("Ihre Termine wurden verschoben. Es gelten nur noch diese Termine:")
            if rebooked
            else _("für Sie sind diese Termine gebucht:")
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
                _(
                    "Mit Ihrem Vermittlungscode können Sie Ihre Termine hier prüfen, verschieben oder stornieren: %(link)s"
                )
                % {"link": _check_link()},
                _("Die Termine finden Sie auch als Kalenderdatei im Anhang."),
            ]
        )
        calendar = appointments_calendar(pair)
    message_send_later(
        channel="email",
        kind="booking_rebooked" if rebooked else "booking_confirmation",
        recipient=person.email,
        subject=subject,
        body=body,
        language=person.language,
        attachment=Attachment("impftermine.ics", "text/calendar", calendar),
    )


def send_cancellation(person: PinRequest, pair: AppointmentPair) -> None:
    with translation.override(person.language):
        body = "\n\n".join(
            [
                _("Guten Tag,"),
                _("Ihre Termine sind storniert:"),
                _appointment_lines(pair, AppointmentStatus.CANCELLED),
                _("Ort:") + "\n" + _place(pair),
                _("Mit Ihrem Vermittlungscode können Sie jederzeit neue Termine buchen: %(link)s")
                % {"link": settings.SITE_URL.rstrip("/") + reverse("codes:book")},
            ]
        )
        subject = _("Ihre Impftermine sind storniert")
        calendar = appointments_calendar(pair, cancelled=True)
    message_send_later(
        channel="email",
        kind="booking_cancelled",
        recipient=person.email,
        subject=subject,
        body=body,
        language=person.language,
        attachment=Attachment("impftermine-storniert.ics", "text/calendar", calendar),
    )
