"""Issue 7 item 5: statistics per day, centre and vaccine (page, chart, CSV) and the
aggregated daily export of vaccinations — counts only, no personal data, no formulas."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest import mock

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from impftermin.audit.models import AuditEntry
from impftermin.core.csv_export import cell
from impftermin.registrations.services import registration_book
from impftermin.staff import roles
from impftermin.staff.services import roles_setup
from impftermin.vaccinations.services import person_check_in, vaccination_record
from impftermin.vaccinations.statistics import day_rows, district_doses
from tests.factories import at, make_delivery, make_slot
from tests.registrations.helpers import register

pytestmark = pytest.mark.django_db
STATISTICS = reverse("vaccinations:statistics")
EXPORT = reverse("vaccinations:daily_export")


def _member(username, role):
    roles_setup()
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role.group))
    return user


@pytest.fixture
def vaccinated(pool):
    """Erika Muster (born 1950) booked and vaccinated at the test centre; the day."""
    nurse = _member("pfleger", roles.CENTRE_STAFF)
    pool.centre.staff.add(nurse)
    first = make_slot(pool.centre, pool.biontech, at(3, 9), capacity=4)
    second = make_slot(pool.centre, pool.biontech, at(25, 9), capacity=4, released=False)
    registration = register(pool, email="")
    registration_book(
        registration_id=registration.pk, first_slot_id=first.pk, second_slot_id=second.pk
    )
    appointment = first.appointments.get()
    with mock.patch("django.utils.timezone.now", return_value=first.start):
        person_check_in(user=nurse, centre_id=pool.centre.pk, appointment_id=appointment.pk)
        vaccination_record(
            user=nurse, centre_id=pool.centre.pk, appointment_id=appointment.pk, batch_number="EX1"
        )
    return first.start.date()


def _csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_item5_statistics_page_chart_and_csv_show_the_vaccination(vaccinated, pool, staff_client):
    client = staff_client(_member("betrieb", roles.OPERATOR))
    day = vaccinated.strftime("%d.%m.%Y")
    page = client.get(STATISTICS, {"date_from": day, "date_to": day}).content.decode()
    assert "<svg" in page and "Impfungen je Tag" in page
    assert pool.centre.name in page
    rows = _csv(client.get(STATISTICS, {"date_from": day, "date_to": day, "format": "csv"}))
    assert rows[0][:7] == [
        "date", "centre", "vaccine", "seats_offered", "booked", "checked_in", "vaccinated",
    ]  # fmt: skip
    assert rows[1][:8] == [vaccinated.isoformat(), pool.centre.name, pool.biontech.name,
                           "4", "1", "1", "1", "0"]  # fmt: skip
    assert rows[1][8] == "0.25"  # one of four seats booked


def test_item5_daily_export_has_counts_and_no_personal_data(vaccinated, pool, staff_client):
    client = staff_client(_member("betrieb", roles.OPERATOR))
    response = client.get(EXPORT, {"tag": vaccinated.isoformat()})
    rows = _csv(response)
    assert rows == [
        ["date", "district", "vaccine", "dose", "age_group", "count"],
        [vaccinated.isoformat(), pool.district.name, pool.biontech.code, "1", "60+", "1"],
    ]
    text = response.content.decode("utf-8-sig")
    for personal in ("Erika", "Muster", "1950", "Rheinstraße", "reg:", "EX1"):
        assert personal not in text
    assert AuditEntry.objects.filter(action="export").exists()


def test_csv_cells_are_never_formulas():
    assert cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert cell("@SUM(A1)") == "'@SUM(A1)" and cell("+1+1") == "'+1+1"
    assert cell("-12") == "-12" and cell("0.25") == "0.25" and cell(None) == ""


def test_item5_a_centre_named_like_a_formula_is_exported_as_text(vaccinated, pool, staff_client):
    pool.district.name = "=cmd|' /C calc'!A0"
    pool.district.save()
    client = staff_client(_member("betrieb", roles.OPERATOR))
    rows = _csv(client.get(EXPORT, {"tag": vaccinated.isoformat()}))
    assert rows[1][1] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "31.02.2021"},
        {"date_from": "10.01.2021", "date_to": "01.01.2021"},
        {"date_from": "01.01.2021", "date_to": "01.01.2022"},
        {"region": "abc"},
        {"date_to": "01.01.0001"},
        {"date_from": "31.12.9999", "date_to": "31.12.9999"},
    ],
)
def test_bad_input_is_refused_with_a_message(pool, staff_client, query):
    client = staff_client(_member("betrieb", roles.OPERATOR))
    response = client.get(STATISTICS, query)
    assert response.status_code == 400
    assert 'id="error-summary"' in response.content.decode()
    assert client.get(EXPORT, {"tag": "gestern"}).status_code == 400
    assert client.get(EXPORT, {"tag": "31.12.9999"}).status_code == 400


def test_only_operators_read_the_statistics(pool, staff_client):
    for role in (roles.AGENT, roles.CENTRE_STAFF):
        client = staff_client(_member(f"user-{role.key}", role))
        assert client.get(STATISTICS).status_code == 403
        assert client.get(EXPORT).status_code == 403


def test_an_empty_period_says_so(pool, staff_client):
    client = staff_client(_member("betrieb", roles.OPERATOR))
    old = (dt.date(2021, 1, 1)).strftime("%d.%m.%Y")
    page = client.get(STATISTICS, {"date_from": old, "date_to": old}).content.decode()
    assert "keine Termine" in page


def test_item2_doses_per_district_allocated_booked_administered_left(
    vaccinated, pool, staff_client
):
    make_delivery(pool.region, pool.biontech, 100, districts=[pool.district])
    rows = {(r.district, r.vaccine): r for r in district_doses(region_id=pool.region.pk)}
    row = rows[(pool.district.name, pool.biontech.name)]
    # Erika: first dose given, second appointment booked.
    assert (row.allocated, row.booked, row.administered, row.left) == (100, 1, 1, 98)
    client = staff_client(_member("betrieb", roles.OPERATOR))
    page = client.get(STATISTICS).content.decode()
    assert "Impfdosen je Kreis" in page and ">98<" in page


def test_item5_two_centres_of_one_name_stay_two_rows(world):
    world.other_centre.name = world.centre.name  # allowed: names are unique per district
    world.other_centre.save()
    make_slot(world.centre, world.biontech, at(2, 9), capacity=3)
    make_slot(world.other_centre, world.biontech, at(2, 9), capacity=5)
    day = at(2).date()
    rows = day_rows(date_from=day, date_to=day)
    assert sorted(r.offered for r in rows) == [3, 5]
