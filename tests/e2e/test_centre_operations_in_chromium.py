"""Issue 7's browser test, in headless Chromium: an operator sets a centre's hours and
lanes in the back office, records a delivery (allocated to the districts), previews and
releases slots; a citizen's booking (through the services) appears on the centre's day
list; centre staff check the person in, record the dose with its batch number and book the
missing second appointment on site (R6); the statistics page and its CSV show the
vaccination. Our pages are scanned with axe-core (Django's admin pages are not ours)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from impftermin.booking.models import Slot
from impftermin.booking.services import slots_generate
from impftermin.centres.models import CentreCapacity
from impftermin.codes.services import codes_book_by_phone
from impftermin.staff.roles import CENTRE_STAFF, OPERATOR
from impftermin.staff.services import roles_setup
from impftermin.vaccinations.models import Vaccination
from impftermin.vaccines.models import DistrictAllocation
from tests.e2e.staff import staff_log_in
from tests.e2e.walk import Walk
from tests.staff.helpers import staff_device

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres]

PASSWORD = "ein langes Passwort für den Betrieb 1"


def _person(username: str, role, centre=None):
    roles_setup()
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role.group))
    if centre is not None:
        centre.staff.add(user)
    staff_device(user)
    return user


def _walk(browser, live_server, tmp_path, viewport=None):
    context = browser.new_context(locale="de-DE", **({"viewport": viewport} if viewport else {}))
    page = context.new_page()
    page.set_default_timeout(15_000)
    return Walk(page, live_server.url, "de", tmp_path, None, shots=False), context


def _ours(walk: Walk) -> list[str]:
    return [p for p in walk.problems if "/admin/" not in p]


def test_item7_operator_plans_and_releases_staff_vaccinate_statistics_show_it(
    browser, live_server, world, tmp_path
):
    operator = _person("betrieb", OPERATOR)
    nurse = _person("pfleger", CENTRE_STAFF, centre=world.centre)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    walk, context = _walk(browser, live_server, tmp_path)
    page = walk.page
    try:
        # 1. Hours and lanes in the back office: 8-12 every day, 2 lanes, 10 minutes.
        staff_log_in(walk, operator, PASSWORD, f"/admin/centres/centre/{world.centre.pk}/change/")
        for row in range(7):
            page.locator(f'[name="opening_hours-{row}-closes"]').fill("12:00")
        page.locator('[name="capacities-0-seats_per_slot"]').fill("2")
        page.locator('[name="capacities-0-slot_minutes"]').fill("10")
        with page.expect_navigation():
            page.get_by_role("button", name="Sichern", exact=True).first.click()
        capacity = CentreCapacity.objects.get(centre=world.centre)
        assert (capacity.seats_per_slot, capacity.slot_minutes) == (2, 10)

        # 2. A delivery, allocated to the districts by population (R9).
        walk.goto("/admin/vaccines/delivery/add/")
        page.get_by_label("Region").select_option(label=world.region.name)
        page.get_by_label("Impfstoff").select_option(value=str(world.biontech.pk))
        page.get_by_label("Impfdosen").fill("1000")
        page.locator('[name="delivered_on"]').fill(tomorrow.strftime("%d.%m.%Y"))
        with page.expect_navigation():
            page.get_by_role("button", name="Sichern", exact=True).first.click()
        assert DistrictAllocation.objects.filter(district=world.district).exists()

        # 3. Preview, then create and release.
        day = tomorrow.strftime("%d.%m.%Y")
        walk.goto(f"/zentrum/planung/{world.centre.pk}/?date_from={day}&date_to={day}")
        preview = page.get_by_role("region", name="Vorschau")
        expect(preview).to_contain_text(f"{world.biontech.name}: 48")  # 24 units of 2 seats
        walk.follow(page.get_by_role("button", name="Anlegen und freigeben"))
        expect(page.get_by_role("status").filter(has_text="freigegeben")).to_be_visible()
        released = Slot.objects.filter(centre=world.centre, released=True, start__date=tomorrow)
        assert released.count() == 24
        assert _ours(walk) == []
    except BaseException:
        context.close()
        raise
    office, office_context = walk, context  # the operator stays logged in (a TOTP code counts once)

    # 4. A citizen books tomorrow's first slot on the phone; no second is free yet (R6).
    first = released.order_by("start").first()
    booked = codes_book_by_phone(
        region_id=world.region.pk,
        vaccine_id=world.biontech.pk,
        party_size=1,
        district_id=world.district.pk,
        first_slot_id=first.pk,
    )
    assert booked.result.booked and booked.result.pairs[0].second_dose_at_centre
    slots_generate(
        centre_id=world.centre.pk,
        date_from=tomorrow + dt.timedelta(days=21),
        date_to=tomorrow + dt.timedelta(days=22),
    )

    # 5. At the centre on that morning: check in, the dose, the second appointment.
    morning = mock.patch(
        "django.utils.timezone.now", return_value=first.start - dt.timedelta(minutes=20)
    )
    walk, context = _walk(browser, live_server, tmp_path, viewport={"width": 1024, "height": 768})
    page = walk.page
    try:
        with morning:
            staff_log_in(walk, nurse, PASSWORD, f"/zentrum/{world.centre.pk}/")
            today = page.get_by_role("region", name="Termine heute")
            row = today.get_by_role("row", name="mit Vermittlungscode")
            expect(row).to_contain_text("1. Impfung")
            walk.follow(row.get_by_role("button", name="Einchecken"))
            page.get_by_label("Chargennummer").first.fill("EX1234")
            walk.follow(page.get_by_role("button", name="Impfung erfassen").first)
            second = page.get_by_label("Zweittermin (noch keiner gebucht)").first
            expect(second).to_be_visible()
            walk.follow(page.get_by_role("button", name="Zweittermin buchen").first)
            expect(page.get_by_label("Zweittermin (noch keiner gebucht)")).to_have_count(0)
        assert _ours(walk) == []
    except BaseException:
        office_context.close()
        raise
    finally:
        context.close()
    vaccination = Vaccination.objects.get()
    assert (vaccination.dose, vaccination.batch_number) == (1, "EX1234")
    assert booked.result.pairs[0].appointments.filter(dose=2).exists()

    # 6. The statistics and their CSV show the vaccination.
    walk, context = office, office_context
    page = walk.page
    try:
        query = f"?date_from={day}&date_to={day}"
        walk.goto(f"/zentrum/statistik/{query}")
        table = page.get_by_role("region", name="Je Tag, Impfzentrum und Impfstoff")
        expect(table.get_by_role("row", name=tomorrow.strftime("%d.%m.%Y"))).to_contain_text(
            world.centre.name
        )
        response = page.request.get(f"{live_server.url}/zentrum/statistik/{query}&format=csv")
        rows = list(csv.reader(io.StringIO(response.text().lstrip("\ufeff")), delimiter=";"))
        assert rows[1][1] == world.centre.name and rows[1][6] == "1"  # vaccinated
        assert _ours(walk) == []
    finally:
        context.close()
