"""Issue 7 item 4 in headless Chromium, on a tablet-sized screen: centre staff log in (password
and a real TOTP code), find a registered person by the QR code of their letter (the scanner
types the Vorgangskennung), check them in and record the dose with its batch number; the
day's list shows it. Our pages are scanned with axe-core and checked for reflow."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from impftermin.booking.models import AppointmentStatus
from impftermin.registrations.services import registration_book
from impftermin.staff.roles import CENTRE_STAFF
from impftermin.staff.services import roles_setup
from impftermin.vaccinations.models import Vaccination
from tests.e2e.staff import staff_log_in
from tests.e2e.walk import Walk
from tests.factories import at, make_slot
from tests.registrations.helpers import register
from tests.staff.helpers import staff_device

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres]

PASSWORD = "ein langes Passwort für das Impfzentrum 1"
TABLET = {"width": 1024, "height": 768}


@pytest.fixture
def nurse(pool):
    roles_setup()
    user = get_user_model().objects.create_user("pfleger", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=CENTRE_STAFF.group))
    pool.centre.staff.add(user)
    staff_device(user)
    return user


def test_item4_staff_find_by_qr_check_in_and_record_the_dose(
    browser, live_server, pool, nurse, tmp_path
):
    first = make_slot(pool.centre, pool.biontech, at(3, 9), capacity=4)
    second = make_slot(pool.centre, pool.biontech, at(25, 9), capacity=4, released=False)
    registration = register(pool, email="")
    assert registration_book(
        registration_id=registration.pk, first_slot_id=first.pk, second_slot_id=second.pk
    ).booked
    # The server's clock on the morning of the appointment (the browser's does not matter).
    morning = mock.patch(
        "django.utils.timezone.now", return_value=first.start - dt.timedelta(minutes=30)
    )
    context = browser.new_context(locale="de-DE", viewport=TABLET)
    page = context.new_page()
    page.set_default_timeout(10_000)
    walk = Walk(page, live_server.url, "de", tmp_path, None, shots=False)
    try:
        with morning:
            staff_log_in(walk, nurse, PASSWORD, f"/zentrum/{pool.centre.pk}/")
            expect(page.get_by_role("heading", level=1)).to_have_text(pool.centre.name)
            expect(page.get_by_role("row", name="Muster, Erika")).to_be_visible()

            scanner = page.get_by_label("Vorgangskennung oder QR-Code vom Brief")
            scanner.press_sequentially(registration.vorgangskennung)
            with page.expect_navigation():
                scanner.press("Enter")
            walk.check_page()
            found = page.get_by_role("region", name="Gefunden")
            expect(found.get_by_role("row", name="Muster, Erika")).to_be_visible()

            walk.follow(found.get_by_role("button", name="Einchecken"))
            batch = page.get_by_label("Chargennummer").first
            batch.press_sequentially("EX1234")
            walk.follow(page.get_by_role("button", name="Impfung erfassen").first)
            row = page.get_by_role("region", name="Termine heute").get_by_role(
                "row", name="Muster, Erika"
            )
            expect(row).to_contain_text("geimpft")
            expect(row).to_contain_text("Charge EX1234")
        vaccination = Vaccination.objects.get()
        assert (vaccination.dose, vaccination.batch_number, vaccination.staff) == (
            1,
            "EX1234",
            nurse,
        )
        assert vaccination.appointment.status == AppointmentStatus.VACCINATED
        assert [p for p in walk.problems if "/admin/" not in p] == []
    finally:
        context.close()
