"""Appointment documents and letters (R12, R16, R17, R23, R26): the PDF of a registration's
pair as a DIN 5008 letter, letters for people without e-mail, the daily print batch and
its download in the admin.

With SCREENSHOTS=1 the first page of a demo letter is saved to docs/screenshots/."""

import datetime as dt
import io
import os
from pathlib import Path

import pypdfium2
import pytest
import segno
from django.contrib.auth.models import Permission, User
from django.utils import formats, timezone, translation
from pypdf import PdfReader

from impftermin.booking.models import AppointmentPair
from impftermin.core import identifiers
from impftermin.core.errors import ServiceError
from impftermin.core.scheduling import SCHEDULE
from impftermin.registrations.letters import (
    appointment_document,
    letters_issue,
    print_batch_make,
)
from impftermin.registrations.models import Letter, LetterReason, PrintBatch, Registration
from impftermin.registrations.services import (
    assignments_notify,
    registration_delete,
    registration_pair_cancel,
    registration_rebook,
    registrations_assign,
)
from impftermin.registrations.tasks import print_letters
from tests.factories import at, make_slot
from tests.mail import run_worker
from tests.registrations.helpers import register
from tests.staff.helpers import verified_log_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ADDRESSES = [
    ("Erika", "Muster", dt.date(1950, 3, 15), "Rheinstraße 12", "48143", "Münster"),
    ("Max", "Muster", dt.date(1948, 11, 2), "Rheinstraße 12", "48143", "Münster"),
    ("Jürgen", "Weiß", dt.date(1939, 12, 24), "Luisenplatz 1", "48143", "Münster"),
]


def pdf_text(pdf: bytes) -> str:
    """The text of all pages, as pypdf extracts it (lines as laid out)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def words(pdf: bytes) -> str:
    """The text with every line break and run of spaces as one space."""
    return " ".join(pdf_text(pdf).split())


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def local(start: dt.datetime, pattern: str) -> str:
    return formats.date_format(timezone.localtime(start), pattern)


@pytest.fixture
def slots(pool):
    """Seats for three people: first doses in ten days, second doses 22 days later."""
    first = make_slot(pool.centre, pool.biontech, at(10, 9, 30), capacity=3)
    second = make_slot(pool.centre, pool.biontech, at(32, 14, 15), capacity=3, released=False)
    return first, second


def phone_registration(pool, n: int = 0, **fields):
    first_name, last_name, birth_date, street, postcode, city = ADDRESSES[n]
    data = {
        "first_name": first_name,
        "last_name": last_name,
        "birth_date": birth_date,
        "street": street,
        "postcode": postcode,
        "city": city,
        "channel": "phone",
        "password": None,
        "email": "",
    }
    return register(pool, **(data | fields))


def assign(*registrations) -> None:
    """The assignment run and what its notification task does (the worker runs the task
    itself in test_R17_the_daily_job_prints_the_letters)."""
    assert registrations_assign() == len(registrations)
    assignments_notify(registration_ids=[r.pk for r in registrations])
    for registration in registrations:
        registration.refresh_from_db()


def qr_matches(pdf: bytes, text: str) -> bool:
    """Whether the first page shows the QR code of `text`: the page is rendered and each
    module of the printed code is compared with the symbol segno makes for `text`."""
    matrix = [[bool(v) for v in row] for row in segno.make_qr(text, error="m").matrix]
    size = len(matrix)
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        width, height = page.get_size()
        scale = 4
        image = page.render(scale=scale, grayscale=True).to_pil()
        found = False
        for obj in page.get_objects(max_depth=5):
            if obj.type != pypdfium2.raw.FPDF_PAGEOBJ_PATH:
                continue
            left, bottom, right, top = obj.get_bounds()
            # The code is a square vector shape of about 2 cm in the upper right.
            if not (40 < right - left < 90 and 0.85 < (top - bottom) / (right - left) < 1.15):
                continue
            if left < width / 2 or bottom < height / 2:
                continue
            crop = image.crop(
                (
                    round(left * scale),
                    round((height - top) * scale),
                    round(right * scale),
                    round((height - bottom) * scale),
                )
            )
            # The finder patterns fill the symbol's corners: the dark pixels span it.
            box = crop.point(lambda v: 255 if v < 128 else 0).getbbox()
            if box is None:
                continue
            module_x = (box[2] - box[0]) / size
            module_y = (box[3] - box[1]) / size
            read = [
                [
                    crop.getpixel(
                        (
                            int(box[0] + (x + 0.5) * module_x),
                            int(box[1] + (y + 0.5) * module_y),
                        )
                    )
                    < 128
                    for x in range(size)
                ]
                for y in range(size)
            ]
            found = found or read == matrix
        return found
    finally:
        document.close()


# --- the appointment document (R16) --------------------------------------------------------


def test_R12_letter_shows_issue_date_and_current_pair(pool, slots):
    first, second = slots
    registration = phone_registration(pool)
    assign(registration)
    issued = dt.date(2021, 6, 7)
    pdf = appointment_document(registration, issued_on=issued)
    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 1  # a one-page letter
    text = pdf_text(pdf)
    for expected in [
        "Erika Muster",
        "Rheinstraße 12",
        "48143 Münster",
        identifiers.grouped(registration.vorgangskennung),
        "1. Impfung: " + local(first.start, "l, j. F Y, H:i") + " Uhr",
        "2. Impfung: " + local(second.start, "l, j. F Y, H:i") + " Uhr",
        "Impfzentrum Münster",
        "Hauptstraße 1",
        "7. Juni 2021",
        "Dieses Schreiben vom 7. Juni 2021 ersetzt alle früher genannten Termine.",
        "Comirnaty",
        "Personalausweis",  # what to bring, from the booking e-mails
    ]:
        assert expected in text, expected
    # R21: a phone registration rebooks and cancels by phone, with no password
    assert "Termine über die Hotline 116117" in words(pdf)
    assert "Passwort" not in text
    assert qr_matches(pdf, registration.vorgangskennung)


def test_R12_after_a_rebook_the_document_shows_only_the_new_pair(pool, slots):
    first, _second = slots
    registration = register(pool)
    assign(registration)
    later = make_slot(pool.centre, pool.biontech, at(12, 16, 45))
    later_second = make_slot(pool.centre, pool.biontech, at(34, 8, 5), released=False)
    assert registration_rebook(
        registration_id=registration.pk, first_slot_id=later.pk, second_slot_id=later_second.pk
    ).booked
    text = pdf_text(appointment_document(registration))
    assert local(later.start, "l, j. F Y, H:i") in text
    assert local(later_second.start, "l, j. F Y, H:i") in text
    assert local(first.start, "l, j. F Y, H:i") not in text
    assert formats.date_format(timezone.localdate(), "j. F Y") in text  # issued today
    # R16: an online registration manages its pair with Vorgangskennung and password
    assert "Passwort" in text


def test_R16_no_document_without_a_booked_pair(pool, slots):
    registration = phone_registration(pool)
    with pytest.raises(ServiceError) as error:
        appointment_document(registration)
    assert error.value.code == "no_booking"
    assign(registration)
    registration_pair_cancel(registration_id=registration.pk)
    with pytest.raises(ServiceError):
        appointment_document(registration)


def test_R27_a_single_dose_document_has_one_appointment(pool, slots):
    registration = phone_registration(pool, single_dose=True)
    assign(registration)
    text = pdf_text(appointment_document(registration))
    assert "1. Impfung" in text and "2. Impfung" not in text


def test_R26_document_says_free_of_charge(pool, slots):
    registration = phone_registration(pool)
    assign(registration)
    text = words(appointment_document(registration))
    assert (
        "Die Impfung ist kostenlos. Niemand von uns wird Sie um Geld bitten oder unangemeldet bei Ihnen zu Hause vorbeikommen."
        in text
    )


def test_document_escapes_person_data(pool, slots):
    registration = phone_registration(pool)
    assign(registration)
    Registration.objects.filter(pk=registration.pk).update(
        first_name="<script>alert(1)</script>",
        last_name='<img src="http://127.0.0.1:9/x.png">',
        street="<b>Rheinstraße</b> 12",
    )
    registration.refresh_from_db()
    text = pdf_text(appointment_document(registration))
    assert "<script>alert(1)</script>" in text
    assert "<b>Rheinstraße</b> 12" in text
    assert '<img src="http://127.0.0.1:9/x.png">' in " ".join(text.split())  # as text


def test_document_in_the_registration_language(pool, slots):
    registration = phone_registration(pool, language="en")
    assign(registration)
    pdf = appointment_document(registration, issued_on=dt.date(2021, 6, 7))
    with translation.override("en"):
        expected = formats.date_format(dt.date(2021, 6, 7), translation.gettext("j. F Y"))
    assert expected in pdf_text(pdf)
    assert translation.get_language() == "de"  # the active language is left alone


# --- letters and the print batch (R17) -----------------------------------------------------


def test_R17_phone_registration_without_email_gets_a_letter_in_the_daily_batch(pool, slots):
    first, second = slots
    phone = phone_registration(pool)
    online = register(pool, first_name="Max", birth_date=dt.date(1948, 11, 2))
    assign(phone, online)
    letter = Letter.objects.get()  # the one with e-mail gets an e-mail, no letter
    assert letter.registration_id == phone.pk
    assert letter.reason == LetterReason.ASSIGNED
    assert letter.issued_on == timezone.localdate()
    assert letter.pair == AppointmentPair.objects.get(holder=phone.holder)
    assert letter.batch is None

    batch = print_batch_make()
    assert batch.day == timezone.localdate() and batch.letter_count == 1
    letter.refresh_from_db()
    assert letter.batch == batch
    pdf = bytes(batch.pdf)
    text = pdf_text(pdf)
    assert "Erika Muster" in text and "Max Muster" not in text
    assert "Ihnen wurden diese Impftermine zugewiesen" in text
    assert local(first.start, "l, j. F Y, H:i") in text
    assert local(second.start, "l, j. F Y, H:i") in text
    assert qr_matches(pdf, phone.vorgangskennung)
    # the day's batch is made once; what comes later goes into the next day's
    assert print_batch_make() is None
    assert print_batch_make(day=timezone.localdate() + dt.timedelta(days=1)) is None  # empty
    assert PrintBatch.objects.count() == 1


def test_R17_a_rebooked_phone_registration_gets_a_new_letter_and_only_that_is_printed(pool, slots):
    first, _second = slots
    registration = phone_registration(pool)
    assign(registration)
    later = make_slot(pool.centre, pool.biontech, at(12, 16, 45))
    later_second = make_slot(pool.centre, pool.biontech, at(34, 8, 5), released=False)
    registration_rebook(
        registration_id=registration.pk, first_slot_id=later.pk, second_slot_id=later_second.pk
    )
    assert list(Letter.objects.values_list("reason", flat=True)) == ["assigned", "rebooked"]
    batch = print_batch_make()
    # the first letter's pair was replaced before printing: only the new one goes out
    assert batch.letter_count == 1 and page_count(bytes(batch.pdf)) == 1
    text = pdf_text(bytes(batch.pdf))
    assert "Ihre Impftermine wurden verschoben" in text
    assert local(later.start, "l, j. F Y, H:i") in text
    assert local(first.start, "l, j. F Y, H:i") not in text
    assert Letter.objects.get().reason == LetterReason.REBOOKED


def test_R12_each_letter_shows_its_own_pair_and_issue_date(pool, slots):
    """A printed letter is what was sent: its pair at issue time and its issue date, even
    when it is rendered days later."""
    first, _second = slots
    registration = phone_registration(pool)
    assign(registration)
    Letter.objects.update(issued_on=dt.date(2021, 6, 1))
    text = pdf_text(bytes(print_batch_make().pdf))
    assert "Dieses Schreiben vom 1. Juni 2021 ersetzt" in text
    assert local(first.start, "l, j. F Y, H:i") in text


def test_R23_erased_registration_is_never_printed(pool, slots):
    kept = phone_registration(pool)
    erased = phone_registration(pool, 2)
    assign(kept, erased)
    assert Letter.objects.count() == 2
    registration_delete(registration_id=erased.pk)
    batch = print_batch_make()
    assert batch.letter_count == 1
    text = pdf_text(bytes(batch.pdf))
    assert "Erika Muster" in text
    assert "Weiß" not in text and "Luisenplatz" not in text
    assert identifiers.grouped(erased.vorgangskennung) not in text
    # set aside for good: the letter is gone, not waiting for a later batch
    assert list(Letter.objects.values_list("registration_id", flat=True)) == [kept.pk]


def test_R22_a_letter_whose_pair_was_cancelled_before_printing_is_not_sent(pool, slots):
    registration = phone_registration(pool)
    assign(registration)
    registration_pair_cancel(registration_id=registration.pk)
    assert print_batch_make() is None
    assert not Letter.objects.exists() and not PrintBatch.objects.exists()


def test_R17_letters_issue_skips_email_deleted_and_pairless_and_repeats(pool, slots):
    phone = phone_registration(pool)
    online = register(pool, first_name="Max", birth_date=dt.date(1948, 11, 2))
    assert registrations_assign() == 2
    waiting = phone_registration(pool, 2)  # registered after the run: no pair yet
    # the assignment's own task has not run yet: called directly, as the other paths do
    ids = [phone.pk, online.pk, waiting.pk, 999_999]
    assert letters_issue(registration_ids=ids, reason=LetterReason.SHORT_NOTICE) == 1
    assert letters_issue(registration_ids=ids, reason=LetterReason.SHORT_NOTICE) == 0  # once
    # the assignment's notification: the pair has its letter already
    assignments_notify(registration_ids=ids[:3])
    assert Letter.objects.count() == 1
    with pytest.raises(ServiceError):
        letters_issue(registration_ids=[phone.pk], reason="postcard")
    text = pdf_text(bytes(print_batch_make().pdf))
    assert "Ihr kurzfristiger Impftermin" in text


@pytest.mark.django_db(transaction=True)
def test_R17_the_daily_job_prints_the_letters(pool, slots):
    phone_registration(pool)
    assert registrations_assign() == 1
    run_worker()  # the notification task issues the letter
    assert "print_letters" in {job.name for job in SCHEDULE}
    result = print_letters.enqueue()
    run_worker()
    result.refresh()
    assert result.return_value == 1
    assert PrintBatch.objects.get().letter_count == 1


@pytest.mark.parametrize("part", [200, 2])
def test_a_batch_of_many_letters_has_one_page_per_letter(pool, slots, monkeypatch, part):
    # A batch larger than a render part is rendered in parts and joined.
    monkeypatch.setattr("impftermin.registrations.letters.BATCH_PART", part)
    registrations = [phone_registration(pool, n) for n in range(3)]
    assign(*registrations)
    batch = print_batch_make()
    pdf = bytes(batch.pdf)
    assert batch.letter_count == 3 and page_count(pdf) == 3
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    for registration in registrations:
        hits = [t for t in texts if identifiers.grouped(registration.vorgangskennung) in t]
        assert len(hits) == 1 and registration.last_name in hits[0]


# --- the admin -----------------------------------------------------------------------------


@pytest.fixture
def batch(pool, slots):
    assign(phone_registration(pool))
    return print_batch_make()


def staff(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_print_batch_download_needs_staff_permission(batch, client):
    url = f"/admin/registrations/printbatch/{batch.pk}/pdf/"
    assert client.get(url).status_code == 302  # to the log-in
    verified_log_in(client, staff("clerk"))
    assert client.get(url).status_code == 403
    batch.refresh_from_db()
    assert batch.downloaded_at is None
    verified_log_in(client, staff("printer", "view_printbatch"))
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="briefe-{batch.day.isoformat()}.pdf"'
    )
    assert b"".join(response.streaming_content if response.streaming else [response.content]) == (
        bytes(batch.pdf)
    )
    batch.refresh_from_db()
    assert batch.downloaded_at is not None
    assert client.get("/admin/registrations/printbatch/999999/pdf/").status_code == 404


def test_print_batches_and_letters_are_listed_without_personal_data(batch, admin_client):
    page = admin_client.get("/admin/registrations/printbatch/").content.decode()
    assert f"/admin/registrations/printbatch/{batch.pk}/pdf/" in page
    letters = admin_client.get("/admin/registrations/letter/").content.decode()
    assert "Termine zugewiesen" in letters
    assert "Muster" not in letters and "Rheinstraße" not in letters
    assert admin_client.get("/admin/registrations/printbatch/add/").status_code == 403
    detail = admin_client.get(f"/admin/registrations/printbatch/{batch.pk}/change/")
    assert detail.status_code == 200


# --- the screenshot --------------------------------------------------------------------------


def test_letter_screenshot(pool, slots):
    """The first page of a demo letter as a PNG (with SCREENSHOTS=1, for the README)."""
    pool.region.name = "Hessen"
    pool.region.hotline_hours = "Mo–So 8–20 Uhr"  # noqa: RUF001
    pool.region.save()
    pool.centre.accessibility_notes = (
        "Bus 5 und 6, Haltestelle Messe. Parkplätze am Eingang Nord. "
        "Der Eingang ist stufenlos; Rollstühle werden gestellt."
    )
    pool.centre.save()
    registration = phone_registration(pool, 2)
    assign(registration)
    pdf = bytes(print_batch_make().pdf)
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=1.5).to_pil()
    document.close()
    assert image.size == (893, 1263)  # A4 at 108 dpi
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        image.save(SCREENSHOTS / "10-letter.png")


def test_R23_no_document_for_a_deleted_registration(pool, slots):
    registration = phone_registration(pool)
    assign(registration)
    registration_delete(registration_id=registration.pk)
    registration.refresh_from_db()
    with pytest.raises(ServiceError) as error:
        appointment_document(registration)
    assert error.value.code == "no_booking"


def test_print_batch_pdfs_are_erased_after_their_retention(pool, slots, admin_client):
    from impftermin.registrations.letters import PRINT_BATCH_KEEP, print_batches_expire

    assign(phone_registration(pool))
    batch = print_batch_make()
    assert print_batches_expire(today=batch.day + PRINT_BATCH_KEEP) == 0  # still kept
    assert print_batches_expire(today=batch.day + PRINT_BATCH_KEEP + dt.timedelta(days=1)) == 1
    batch.refresh_from_db()
    assert bytes(batch.pdf) == b"" and batch.letter_count == 1
    response = admin_client.get(f"/admin/registrations/printbatch/{batch.pk}/pdf/")
    assert response.status_code == 404
