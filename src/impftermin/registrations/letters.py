"""Letters and appointment documents (R12, R16, R17, R26).

A registration's appointment document is a PDF in the form of a DIN 5008 letter (form B,
for a window envelope): the citizen downloads it after logging in (R16), and people
without e-mail receive it by post (R17). `letters_issue` records a letter in the
transaction of the change it tells of (assignment, rebook, short-notice offer);
`print_batch_make`, a daily job, renders every letter not yet printed into one PDF for
the operators to print and post. A letter shows the pair it was issued for and its issue
date: a later letter overrides dates agreed earlier, also by phone (R12).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import segno
from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pypdf import PdfWriter
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from impftermin.booking.messages import WHAT_TO_BRING, appointment_line
from impftermin.booking.models import AppointmentPair, PairStatus
from impftermin.booking.selectors import booked_appointments, live_pair_for, local_today
from impftermin.centres.models import Centre
from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import grouped
from impftermin.core.validation import as_date, as_id
from impftermin.notifications.services import FREE_OF_CHARGE
from impftermin.registrations.models import (
    Letter,
    LetterReason,
    PrintBatch,
    Registration,
    RegistrationStatus,
)

NO_PAIR = gettext_lazy("Für diese Registrierung ist kein Termin gebucht.")
UNKNOWN_REGISTRATION = gettext_lazy("Diese Registrierung gibt es nicht.")
UNKNOWN_BATCH = gettext_lazy("Diesen Druckstapel gibt es nicht.")
TEMPLATE = "registrations/letter.html"


@dataclass(frozen=True)
class LetterPage:
    """What one letter shows, composed in the recipient's language."""

    language: str
    reason: str  # a LetterReason, or "" for the document downloaded after logging in
    issued_on: dt.date
    name: str
    street: str
    postcode: str
    city: str
    vorgangskennung: str  # grouped in fours, as people read it out on the phone
    qr_svg: SafeString
    region: str
    hotline: str
    hotline_hours: str
    rebook_cutoff_days: int
    online: bool  # R21: only online registrations have a password
    site_url: str
    appointments: list[str]
    centre: Centre
    vaccine: str
    what_to_bring: Promise = WHAT_TO_BRING
    free_of_charge: Promise = FREE_OF_CHARGE


def _qr_svg(vorgangskennung: str) -> SafeString:
    """The Vorgangskennung as a QR code for the check-in, an inline SVG (sized by CSS)."""
    code = segno.make_qr(vorgangskennung, error="m")
    # Made from our own identifier alphabet alone: nothing in it needs escaping.
    return mark_safe(code.svg_inline(border=4, omitsize=True, dark="#000"))  # noqa: S308


def _page(
    registration: Registration, pair: AppointmentPair, *, issued_on: dt.date, reason: str
) -> LetterPage:
    region = registration.region
    with translation.override(registration.language):
        lines = [appointment_line(a.dose, a.slot.start) for a in booked_appointments(pair)]
        if pair.second_dose_at_centre:
            lines.append(
                _("2. Impfung: Der Termin wird Ihnen bei der 1. Impfung im Impfzentrum gegeben.")
            )
        vaccine = _("Impfstoff: %(vaccine)s") % {"vaccine": pair.vaccine.name}
    return LetterPage(
        language=registration.language,
        reason=reason,
        issued_on=issued_on,
        name=f"{registration.first_name} {registration.last_name}",
        street=registration.street,
        postcode=registration.postcode,
        city=registration.city,
        vorgangskennung=grouped(registration.vorgangskennung),
        qr_svg=_qr_svg(registration.vorgangskennung),
        region=region.name,
        hotline=region.hotline,
        hotline_hours=region.hotline_hours,
        rebook_cutoff_days=region.rebook_cutoff_days,
        online=bool(registration.password),  # a password: the account online
        site_url=settings.SITE_URL.rstrip("/"),
        appointments=lines,
        centre=pair.centre,
        vaccine=vaccine,
    )


def _pdf(pages: list[LetterPage], *, title: str, tagged: bool) -> bytes:
    """One PDF of all letters, from one WeasyPrint render of one HTML document: faster
    than a render per letter (about 70 instead of 100 ms a letter), with no PDF merging.
    `tagged`: with the structure a screen reader needs (the downloaded document); the
    printed batch goes without, which saves a sixth of the time."""
    html = render_to_string(TEMPLATE, {"letters": pages, "title": title})
    # The document loads nothing from anywhere: a URL smuggled into person data could
    # not make the server fetch it (autoescaping already keeps it text).
    refuse_all = URLFetcher(allowed_protocols=())
    return HTML(string=html, url_fetcher=refuse_all).write_pdf(pdf_tags=tagged)


# Letters per WeasyPrint render: its memory grows with the document (about 1.2 MB a
# letter), so a peak day's batch is rendered in parts and the parts joined.
BATCH_PART = 200


def _batch_pdf(letters: list[Letter], *, title: str) -> bytes:
    parts = []
    for start in range(0, len(letters), BATCH_PART):
        pages = [
            _page(
                letter.registration, letter.pair, issued_on=letter.issued_on, reason=letter.reason
            )
            for letter in letters[start : start + BATCH_PART]
        ]
        parts.append(_pdf(pages, title=title, tagged=False))
    if len(parts) == 1:
        return parts[0]
    joined = PdfWriter()
    for part in parts:
        joined.append(io.BytesIO(part))
    joined.add_metadata({"/Title": title})
    out = io.BytesIO()
    joined.write(out)
    return out.getvalue()


def appointment_document(registration: Registration, *, issued_on: dt.date | None = None) -> bytes:
    """The registration's current (live) pair as a PDF letter in the person's language
    (R16). Raises ServiceError when it has no booked pair."""
    pair = live_pair_for(holder=registration.holder)
    if pair is None or registration.status == RegistrationStatus.DELETED:
        raise ServiceError("no_booking", NO_PAIR, field="registration")
    issued_on = local_today() if issued_on is None else as_date(issued_on, field="issued_on")
    page = _page(registration, pair, issued_on=issued_on, reason="")
    with translation.override(registration.language):
        title = _("Ihre Impftermine")
    return _pdf([page], title=title, tagged=True)


@transaction.atomic
def letters_issue(*, registration_ids: list[int], reason: str) -> int:
    """R17: a letter with the current pair for each of these registrations that has no
    e-mail address, is not deleted and has a booked pair; call it in the transaction of
    the change the letter tells of. A pair that has a letter already gets none again (a
    task run twice sends one letter). Returns how many letters were issued."""
    if reason not in LetterReason.values:
        raise ServiceError(
            "letter_reason_invalid", gettext_lazy("Unbekannter Anlass des Briefs."), field="reason"
        )
    ids = [
        as_id(pk, code="unknown_registration", message=UNKNOWN_REGISTRATION, field="registration")
        for pk in registration_ids
    ]
    registrations = list(
        Registration.objects.filter(pk__in=ids, email="").exclude(status=RegistrationStatus.DELETED)
    )
    pairs = {
        pair.holder: pair
        for pair in AppointmentPair.objects.filter(
            holder__in=[r.holder for r in registrations], status=PairStatus.BOOKED
        ).exclude(pk__in=Letter.objects.values("pair_id"))
    }
    today = local_today()
    letters = Letter.objects.bulk_create(
        Letter(registration=r, pair=pairs[r.holder], reason=reason, issued_on=today)
        for r in registrations
        if r.holder in pairs
    )
    return len(letters)


@transaction.atomic
def print_batch_make(*, day: dt.date | None = None) -> PrintBatch | None:
    """The day's print batch (R17): every letter issued up to `day` and not printed yet,
    in one PDF, sorted by postcode (as the post office wants bulk mail). A day's batch is
    made once: letters issued after it go into the next day's. Returns None when the
    day's batch exists already or there is nothing to print.

    Letters that must not go out are deleted, never printed (so no later batch takes
    them up): those of registrations deleted since (R23: their personal data are erased,
    and the person wants no more mail), those whose pair is no longer booked (rebooked,
    with a newer letter of its own, or cancelled), and a second letter for one pair."""
    day = local_today() if day is None else as_date(day, field="day")
    if PrintBatch.objects.filter(day=day).exists():
        return None
    # Locked: a second run at the same time waits here, then finds them printed.
    pending = list(
        Letter.objects.select_for_update()
        .filter(batch=None, issued_on__lte=day)
        .values_list("pk", flat=True)
    )
    unprinted = Letter.objects.filter(pk__in=pending)
    unprinted.filter(registration__status=RegistrationStatus.DELETED).delete()
    unprinted.exclude(pair__status=PairStatus.BOOKED).delete()
    letters = list(
        unprinted.select_related("registration__region", "pair__centre", "pair__vaccine")
        .prefetch_related("pair__appointments__slot")
        .order_by("created_at", "id")
    )
    # One letter per pair, the newest (two issued for it at the same moment).
    newest = {letter.pair_id: letter for letter in letters}
    Letter.objects.filter(
        pk__in={letter.pk for letter in letters} - {letter.pk for letter in newest.values()}
    ).delete()
    letters = sorted(newest.values(), key=lambda letter: (letter.registration.postcode, letter.pk))
    if not letters:
        return None
    pdf = _batch_pdf(letters, title=f"{_('Briefe')} {day.isoformat()}")
    try:
        with transaction.atomic():
            batch = PrintBatch.objects.create(day=day, letter_count=len(letters), pdf=pdf)
    except IntegrityError:
        return None  # another run made the day's batch in the meantime
    Letter.objects.filter(pk__in=[letter.pk for letter in letters]).update(batch=batch)
    return batch


# Printed and posted within days; after that the PDF, full of names and addresses, goes
# (the row keeps day and count for the statistics).
PRINT_BATCH_KEEP = dt.timedelta(days=14)


def print_batches_expire(*, today: dt.date | None = None) -> int:
    """Erase the PDFs of batches older than PRINT_BATCH_KEEP; returns how many."""
    today = local_today() if today is None else as_date(today, field="today")
    return (
        PrintBatch.objects.filter(day__lt=today - PRINT_BATCH_KEEP).exclude(pdf=b"").update(pdf=b"")
    )


@transaction.atomic
def print_batch_downloaded(*, batch_id: int) -> PrintBatch:
    """An operator downloads a print batch: the time is recorded (the last download)."""
    pk = as_id(batch_id, code="unknown_print_batch", message=UNKNOWN_BATCH, field="batch")
    batch = PrintBatch.objects.select_for_update().filter(pk=pk).first()
    if batch is None:
        raise ServiceError("unknown_print_batch", UNKNOWN_BATCH, field="batch")
    batch.downloaded_at = timezone.now()
    batch.save(update_fields=["downloaded_at"])
    return batch
