"""Public reads of /api/v1/: shapes, caching headers, rate limit, one error format."""

import datetime as dt

import pytest

from impftermin.api import api as api_module
from impftermin.core.throttle import Limit
from impftermin.regions.models import BookingMode
from tests.factories import at, make_centre, make_district, make_postcode, make_region, make_slot


@pytest.fixture
def public(world):
    make_postcode("48143", world.district)
    world.first = make_slot(world.centre, world.biontech, at(3, 9), capacity=2)
    world.second = make_slot(world.centre, world.biontech, at(25, 9), capacity=2, released=False)
    return world


def test_API_regions_and_districts_are_listed_and_cacheable(public, client):
    response = client.get("/api/v1/regions")
    assert response.status_code == 200 and "public" in response["Cache-Control"]
    assert {r["slug"]: r["booking_mode"] for r in response.json()} == {"wl-test": "codes"}
    districts = client.get("/api/v1/regions/wl-test/districts").json()
    assert {d["name"] for d in districts} == {"Münster", "Kreis Steinfurt"}
    missing = client.get("/api/v1/regions/nowhere/districts")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_region"
    assert "public" not in missing["Cache-Control"]  # a refusal is never cached by proxies


def test_API_centres_have_address_hours_accessibility_and_vaccines(public, client):
    public.centre.accessibility_notes = "Stufenloser Zugang"
    public.centre.save()
    centres = client.get("/api/v1/centres", {"district": public.district.ags}).json()
    assert len(centres) == 1
    centre = centres[0]
    assert centre["name"] == "Impfzentrum Münster" and centre["postcode"] == "48143"
    assert centre["accessibility_notes"] == "Stufenloser Zugang"
    assert centre["vaccines"] == ["L920"] and len(centre["opening_hours"]) == 7
    assert centre["opening_hours"][0] == {"weekday": 0, "opens": "08:00", "closes": "20:00"}


def test_API_vaccines_and_postcode_lookup(public, client):
    codes = [v["code"] for v in client.get("/api/v1/vaccines").json()]
    assert codes == ["L920", "L923"]
    other = make_region(name="Andere", slug="andere", booking_mode=BookingMode.ASSIGNMENT)
    make_postcode("48143", make_district(other, name="Grenzkreis"))
    found = client.get("/api/v1/postcodes/48143").json()
    assert {(d["name"], d["region"]) for d in found} == {
        ("Münster", "wl-test"),
        ("Grenzkreis", "andere"),
    }
    unknown = client.get("/api/v1/postcodes/00000")
    assert unknown.status_code == 404 and unknown.json()["message"]


def test_API_availability_counts_bookable_times_per_day(public, client):
    answer = client.get("/api/v1/availability", {"centre": public.centre.pk, "days": 7}).json()
    assert answer == [
        {
            "centre": public.centre.pk,
            "vaccine": "L920",
            "days": [{"day": public.first.start.date().isoformat(), "bookable_slots": 1}],
        }
    ]
    assert client.get("/api/v1/availability", {"centre": 999999}).status_code == 404


@pytest.mark.parametrize(
    "query",
    [{"centre": "x"}, {}, {"centre": 1, "days": 0}, {"centre": 1, "days": 1000}, {"centre": -1}],
)
def test_API_bad_input_answers_422_in_the_one_error_format(public, client, query):
    response = client.get("/api/v1/availability", query)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input" and body["message"] and body["fields"]


def test_API_error_messages_follow_accept_language(public, client):
    german = client.get("/api/v1/regions/nowhere/districts").json()["message"]
    english = client.get("/api/v1/regions/nowhere/districts", HTTP_ACCEPT_LANGUAGE="en").json()[
        "message"
    ]
    assert german == "Diese Region gibt es nicht." and english != german


def test_API_public_reads_over_the_rate_answer_429_with_retry_after(public, client, monkeypatch):
    monkeypatch.setattr(
        api_module, "PUBLIC_READS", Limit("api-public-test", 3, dt.timedelta(minutes=1))
    )
    statuses = [client.get("/api/v1/vaccines").status_code for _i in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/vaccines")
    assert 1 <= int(refused["Retry-After"]) <= 60 and refused.json()["code"] == "throttled"


def test_API_documentation_and_schema_are_served_without_third_parties(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.") and "/api/v1/partner/bookings" in schema["paths"]
    docs = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


def test_API_inactive_centres_are_not_listed(public, client):
    make_centre(public.district, name="Geschlossen", active=False)
    names = [c["name"] for c in client.get("/api/v1/centres").json()]
    assert "Geschlossen" not in names
