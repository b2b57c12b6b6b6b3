"""The demo data set as `make run` shows it: regions, districts, centres, postcodes,
vaccines and the staff log-ins. Loaded once for this module (without slots)."""

import base64
import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Sum
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from impftermin.centres.models import Centre, CentreCapacity
from impftermin.demo.services import DEMO_LOGINS, demo_data_load, demo_totp_secret
from impftermin.regions.models import District, DistrictKind, Postcode, Region
from impftermin.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db

LOGINS = {login.username: login.password for login in DEMO_LOGINS}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, loaded once inside a transaction that is rolled back after the
    module; each test runs in a savepoint inside it (pytest-django's `db`)."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        try:
            yield demo_data_load(with_slots=False)
        finally:
            transaction.set_rollback(True)


def test_R9_westfalen_lippe_has_27_districts_with_2019_populations(demo):
    region = Region.objects.get(slug="westfalen-lippe")
    assert (region.name, region.booking_mode, region.bundesland, region.hotline) == (
        "Westfalen-Lippe",
        "codes",
        "NW",
        "116117",
    )
    districts = District.objects.filter(region=region)
    assert districts.count() == 27
    assert districts.filter(kind=DistrictKind.KREISFREIE_STADT).count() == 9
    assert districts.filter(kind=DistrictKind.KREIS).count() == 18
    assert districts.aggregate(total=Sum("population"))["total"] == 8_260_917
    assert districts.get(ags="05515").population == 315_293  # Münster
    # One centre per district, the one of the 2021 ITS list.
    assert Centre.objects.filter(district__region=region).count() == 27
    assert not districts.annotate(n=Count("centres")).exclude(n=1).exists()
    assert Centre.objects.get(district__ags="05911").name == "RuhrCongress Bochum"


def test_hessen_has_26_districts_and_28_centres(demo):
    region = Region.objects.get(slug="hessen")
    assert (region.booking_mode, region.bundesland, region.hotline) == (
        "assignment",
        "HE",
        "116117",
    )
    assert "0611 505 92 888" in region.hotline_abroad.replace("+49 ", "0")
    assert District.objects.filter(region=region).count() == 26
    assert Centre.objects.filter(district__region=region).count() == 28
    two_centres = (
        District.objects.filter(region=region)
        .annotate(n=Count("centres"))
        .filter(n=2)
        .values_list("ags", flat=True)
    )
    assert sorted(two_centres) == ["06432", "06435"]  # Darmstadt-Dieburg, Main-Kinzig-Kreis
    assert not District.objects.filter(region=region, centres__isnull=True).exists()


def test_the_four_vaccines_of_2021_with_doses_intervals_and_ages(demo):
    rows = Vaccine.objects.order_by("code").values_list(
        "code", "doses", "min_interval_days", "max_interval_days", "min_age"
    )
    assert list(rows) == [
        ("L920", 2, 21, 42, 12),
        ("L921", 2, 28, 42, 18),
        ("L922", 2, 28, 84, 18),
        ("L923", 1, None, None, 18),
    ]


def test_R12_a_postcode_in_two_districts_maps_to_both_even_across_regions(demo):
    def districts_of(code):
        return sorted(Postcode.objects.get(code=code).districts.values_list("ags", flat=True))

    assert districts_of("34127") == ["06611", "06633"]  # Kassel city and Landkreis Kassel
    assert districts_of("59969") == ["05958", "06635"]  # Hochsauerlandkreis, Waldeck-Frankenberg
    per_district = District.objects.annotate(n=Count("postcodes")).values_list("n", flat=True)
    assert all(1 <= n <= 3 for n in per_district)
    # Every centre lies in a postcode of its own district.
    for centre in Centre.objects.select_related("district"):
        assert centre.district.postcodes.filter(code=centre.postcode).exists(), centre


def test_R12_centres_open_daily_and_offer_biontech_and_one_other_vaccine(demo):
    for centre in Centre.objects.prefetch_related("opening_hours", "capacities__vaccine"):
        hours = [(h.weekday, h.opens, h.closes) for h in centre.opening_hours.all()]
        assert sorted(hours) == [(day, dt.time(8), dt.time(20)) for day in range(7)]
        capacities = centre.capacities.all()
        codes = sorted(c.vaccine.code for c in capacities)
        assert len(codes) == 2 and codes[0] == "L920" and codes[1] in {"L921", "L922", "L923"}
        assert all(c.slot_minutes == 15 and 3 <= c.seats_per_slot <= 6 for c in capacities)
    others = CentreCapacity.objects.exclude(vaccine__code="L920").values_list(
        "vaccine__code", flat=True
    )
    assert set(others) == {"L921", "L922", "L923"}


def test_the_operator_can_log_into_the_admin_with_the_demo_password(client, demo):
    operator = get_user_model().objects.get(username="operator")
    assert operator.is_staff and not operator.is_superuser
    assert list(operator.groups.values_list("name", flat=True)) == ["Operator"]
    for permission in (
        "regions.change_district",
        "vaccines.add_delivery",
        "centres.change_openinghours",
        "booking.change_slot",
    ):
        assert operator.has_perm(permission), permission
    assert not operator.has_perm("auth.add_user")

    log_in_with_password_and_demo_code(client, "operator")
    assert client.get("/admin/").status_code == 200


def test_the_admin_is_a_superuser_and_can_log_in(client, demo):
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    log_in_with_password_and_demo_code(client, "admin")
    assert client.get("/admin/").status_code == 200


def log_in_with_password_and_demo_code(client, username: str) -> None:
    """The demo log-in as `make run` prints it: password, then the code demo_totp shows."""
    response = client.post(
        "/admin/login/", {"username": username, "password": LOGINS[username], "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"].startswith("/mitarbeiter/code/")
    assert client.get("/admin/").status_code == 302  # the password alone opens nothing
    output = io.StringIO()
    call_command("demo_totp", username, stdout=output, stderr=io.StringIO())
    code = output.getvalue().strip()
    response = client.post(response["Location"], {"code": code, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_call_center_demo_log_ins_have_their_roles(client, demo):
    users = get_user_model().objects
    agent, supervisor = users.get(username="agent"), users.get(username="supervisor")
    assert list(agent.groups.values_list("name", flat=True)) == ["Agent"]
    assert list(supervisor.groups.values_list("name", flat=True)) == ["Supervisor"]
    assert agent.has_perm("staff.use_console") and not agent.has_perm("audit.view_auditentry")
    assert supervisor.has_perm("staff.use_console") and supervisor.has_perm("audit.view_auditentry")
    for user in (agent, supervisor):
        assert user.is_staff and not user.is_superuser
        assert not user.has_perm("registrations.view_registration")
    log_in_with_password_and_demo_code(client, "agent")
    assert client.get("/admin/registrations/registration/").status_code == 403


def test_every_demo_log_in_has_the_demo_second_factor(demo):
    secret = base64.b32decode(demo_totp_secret())
    for username in LOGINS:
        device = TOTPDevice.objects.get(user__username=username)
        assert device.confirmed and device.bin_key == secret


def test_demo_info_prints_the_urls_and_the_demo_log_ins():
    output = io.StringIO()

    call_command("demo_info", "--url", "http://127.0.0.1:8000/", stdout=output)

    text = output.getvalue()
    for url in (
        "http://127.0.0.1:8000/\n",
        "http://127.0.0.1:8000/admin/",
        "http://127.0.0.1:8000/en/",
        "http://127.0.0.1:8000/healthz",
        "http://127.0.0.1:8000/readyz",
    ):
        assert url in text
    for username, password in LOGINS.items():
        assert username in text and password in text
    assert "manage.py demo_totp" in text and demo_totp_secret() in text
