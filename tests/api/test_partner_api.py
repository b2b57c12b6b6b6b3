"""Partner operations of /api/v1/: keys (hashed, scoped, revocable, logged), booking with
codes through the one engine, idempotency keys, registrations, and the error format."""

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from impftermin.api.models import ApiKey, IdempotentReply, PartnerCall
from impftermin.api.services import api_key_revoke
from impftermin.booking.models import AppointmentPair, Channel, PairStatus
from impftermin.registrations.models import Registration
from tests.api.helpers import make_partner
from tests.codes.helpers import codes_for
from tests.factories import at, make_postcode, make_region, make_slot
from tests.registrations.helpers import PASSWORD


@pytest.fixture
def partner_world(world):
    make_postcode("48143", world.district)
    world.first = make_slot(world.centre, world.biontech, at(5, 9), capacity=2)
    world.second = make_slot(world.centre, world.biontech, at(27, 9), capacity=4, released=False)
    world.partner, world.key, world.key_text = make_partner(world.region)
    return world


def call(world, method, path, body=None, key=None, **headers):
    client = Client()
    headers = {"HTTP_X_API_KEY": key if key is not None else world.key_text, **headers}
    if method == "get":
        return client.get("/api/v1" + path, body or {}, **headers)
    return client.post(
        "/api/v1" + path, json.dumps(body or {}), content_type="application/json", **headers
    )


def book_body(world, codes):
    return {
        "codes": codes,
        "district": world.district.ags,
        "first_slot": world.first.pk,
        "second_slot": world.second.pk,
    }


# --- keys --------------------------------------------------------------------------------


def test_API_keys_are_stored_hashed_and_a_wrong_or_revoked_key_answers_401(partner_world):
    key = ApiKey.objects.get()
    assert partner_world.key_text.startswith("itk_") and key.prefix in partner_world.key_text
    assert partner_world.key_text.split("_", 2)[2] not in key.secret_hash
    path = "/partner/pairs"
    query = {"district": partner_world.district.ags, "vaccine": "L920"}
    assert call(partner_world, "get", path, query).status_code == 200
    wrong = partner_world.key_text[:-2] + (
        "aa" if not partner_world.key_text.endswith("aa") else "bb"
    )
    for bad in (wrong, "", "itk_x", "Bearer 1"):
        response = call(partner_world, "get", path, query, key=bad)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    api_key_revoke(key_id=key.pk)
    assert call(partner_world, "get", path, query).status_code == 401


def test_API_every_partner_call_is_logged_without_personal_data(partner_world):
    codes = codes_for(partner_world, "+4915112345678")
    assert (
        call(
            partner_world, "post", "/partner/bookings", book_body(partner_world, codes[:1])
        ).status_code
        == 201
    )
    call(partner_world, "post", "/partner/bookings/lookup", {"code": codes[0]})
    call(partner_world, "post", "/partner/bookings/lookup", {"code": "ABCD-EFGH-JKMN"})
    calls = list(PartnerCall.objects.order_by("id").values_list("operation", "status", "which"))
    pair = AppointmentPair.objects.get()
    assert calls == [
        ("bookings.create", 201, str(pair.pk)),
        ("bookings.read", 200, str(pair.pk)),
        ("bookings.read", 404, ""),
    ]
    assert not any(codes[0].replace("-", "") in str(c) for c in calls)


def test_API_a_key_without_the_scope_answers_403(partner_world):
    _partner, _key, text = make_partner(partner_world.region, scopes=["search"], name="Nur Suche")
    codes = codes_for(partner_world, "+4915112345678")
    refused = call(
        partner_world, "post", "/partner/bookings", book_body(partner_world, codes[:1]), key=text
    )
    assert refused.status_code == 403 and refused.json()["code"] == "scope_missing"
    assert not AppointmentPair.objects.exists()


def test_API_a_partner_sees_nothing_of_other_regions(partner_world):
    elsewhere = make_region(name="Anderswo", slug="anderswo")
    _partner, _key, text = make_partner(elsewhere, name="Anderswo-Portal")
    codes = codes_for(partner_world, "+4915112345678")
    for method, path, body in (
        ("post", "/partner/bookings/lookup", {"code": codes[0]}),
        ("post", "/partner/bookings", book_body(partner_world, codes[:1])),
        ("get", "/partner/pairs", {"district": partner_world.district.ags, "vaccine": "L920"}),
    ):
        response = call(partner_world, method, path, body, key=text)
        assert response.status_code == 404, path
    assert not AppointmentPair.objects.exists()


# --- search and book ---------------------------------------------------------------------


def test_API_search_lists_free_pairs_in_the_district(partner_world):
    answer = call(
        partner_world,
        "get",
        "/partner/pairs",
        {"district": partner_world.district.ags, "vaccine": "L920"},
    ).json()
    assert answer == [
        {
            "centre": partner_world.centre.pk,
            "vaccine": "L920",
            "first_slot": partner_world.first.pk,
            "first_start": partner_world.first.start.isoformat().replace("+00:00", "Z")
            if False
            else answer[0]["first_start"],
            "second_slot": partner_world.second.pk,
            "second_start": answer[0]["second_start"],
        }
    ]
    assert dt.datetime.fromisoformat(answer[0]["first_start"]) == partner_world.first.start


def test_API_book_a_pair_then_read_rebook_and_cancel_it_by_code(partner_world, settings):
    codes = codes_for(partner_world, "+4915112345678")
    booked = call(partner_world, "post", "/partner/bookings", book_body(partner_world, codes[:1]))
    assert booked.status_code == 201 and booked.json()["booked"] is True
    pair = AppointmentPair.objects.get(status=PairStatus.BOOKED)
    assert pair.channel == Channel.API
    read = call(partner_world, "post", "/partner/bookings/lookup", {"code": codes[1]}).json()
    assert read["pair"] == pair.pk and [a["dose"] for a in read["appointments"]] == [1, 2]
    later = make_slot(partner_world.centre, partner_world.biontech, at(6, 9), capacity=2)
    later_second = make_slot(
        partner_world.centre, partner_world.biontech, at(28, 9), capacity=2, released=False
    )
    moved = call(
        partner_world,
        "post",
        "/partner/bookings/rebook",
        {"code": codes[0], "first_slot": later.pk, "second_slot": later_second.pk},
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["bookings"][0]["pair"] != pair.pk
    cancelled = call(partner_world, "post", "/partner/bookings/cancel", {"code": codes[0]})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == PairStatus.CANCELLED
    assert not AppointmentPair.objects.filter(status=PairStatus.BOOKED).exists()
    gone = call(partner_world, "post", "/partner/bookings/lookup", {"code": codes[0]})
    assert gone.status_code == 404 and gone.json()["code"] == "no_booking"


def test_API_R7_two_codes_book_pairs_side_by_side(partner_world):
    codes = [codes_for(partner_world, f"+49151123456{n}")[0] for n in (71, 72)]
    booked = call(partner_world, "post", "/partner/bookings", book_body(partner_world, codes))
    assert booked.status_code == 201 and len(booked.json()["bookings"]) == 2
    partner_world.first.refresh_from_db()
    assert partner_world.first.booked == 2


def test_API_R11_a_lost_race_answers_409_slot_taken_with_alternatives(partner_world):
    codes = codes_for(partner_world, "+4915112345678")
    later = make_slot(partner_world.centre, partner_world.biontech, at(6, 8), capacity=2)
    partner_world.first.booked = 2
    partner_world.first.save()
    lost = call(partner_world, "post", "/partner/bookings", book_body(partner_world, codes[:1]))
    assert lost.status_code == 409
    body = lost.json()
    assert body["code"] == "slot_taken" and body["message"]
    assert [a["first_slot"] for a in body["alternatives"]] == [later.pk]


def test_API_a_second_booking_with_the_same_code_answers_409(partner_world):
    codes = codes_for(partner_world, "+4915112345678")
    assert (
        call(
            partner_world, "post", "/partner/bookings", book_body(partner_world, codes[:1])
        ).status_code
        == 201
    )
    again = call(partner_world, "post", "/partner/bookings", book_body(partner_world, codes[1:]))
    assert again.status_code == 409 and again.json()["code"] == "holder_has_live_pair"


@pytest.mark.parametrize(
    "change, status, field",
    [
        ({"codes": []}, 422, "codes"),
        ({"codes": ["A"] * 5}, 422, "codes"),
        ({"first_slot": "x"}, 422, "first_slot"),
        ({"district": "123"}, 422, "district"),
        ({"codes": ["kein-code"]}, 422, "codes"),
        ({"district": "99999"}, 404, "district"),
        ({"first_slot": 2**31 - 1}, 404, "first_slot"),
        ({"first_slot": 2**40}, 422, "first_slot"),
    ],
)
def test_API_bad_booking_input_is_refused_in_the_one_format(partner_world, change, status, field):
    codes = codes_for(partner_world, "+4915112345678")
    body = book_body(partner_world, codes[:1]) | change
    response = call(partner_world, "post", "/partner/bookings", body)
    assert response.status_code == status
    error = response.json()
    assert error["code"] and error["message"] and any(field in name for name in error["fields"])
    assert not AppointmentPair.objects.exists()


def test_API_malformed_json_is_refused_plainly(partner_world):
    response = Client().post(
        "/api/v1/partner/bookings",
        "{nope",
        content_type="application/json",
        HTTP_X_API_KEY=partner_world.key_text,
    )
    assert response.status_code in (400, 422) and response.json()["message"]


# --- idempotency keys ------------------------------------------------------------------------


def test_API_a_replayed_booking_request_returns_the_first_result_and_books_once(partner_world):
    codes = codes_for(partner_world, "+4915112345678")
    body = book_body(partner_world, codes[:1])
    first = call(partner_world, "post", "/partner/bookings", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    again = call(partner_world, "post", "/partner/bookings", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert AppointmentPair.objects.filter(status=PairStatus.BOOKED).count() == 1
    # without the key the same request is a second booking attempt, refused by the rules
    assert call(partner_world, "post", "/partner/bookings", body).status_code == 409


def test_API_an_idempotency_key_reused_for_another_request_answers_409(partner_world):
    codes = codes_for(partner_world, "+4915112345678")
    call(
        partner_world,
        "post",
        "/partner/bookings",
        book_body(partner_world, codes[:1]),
        HTTP_IDEMPOTENCY_KEY="k",
    )
    other = call(
        partner_world,
        "post",
        "/partner/bookings/cancel",
        {"code": codes[0]},
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert AppointmentPair.objects.filter(status=PairStatus.BOOKED).count() == 1


def test_API_a_refusal_is_kept_for_its_idempotency_key_too(partner_world):
    codes = codes_for(partner_world, "+4915112345678")
    body = book_body(partner_world, codes[:1]) | {"district": "99999"}
    first = call(partner_world, "post", "/partner/bookings", body, HTTP_IDEMPOTENCY_KEY="r")
    again = call(partner_world, "post", "/partner/bookings", body, HTTP_IDEMPOTENCY_KEY="r")
    assert first.status_code == again.status_code == 404 and again.json() == first.json()
    assert IdempotentReply.objects.get().status == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_API_parallel_retries_with_one_idempotency_key_book_once(world):
    make_postcode("48143", world.district)
    first = make_slot(world.centre, world.biontech, at(3, 9), capacity=5)
    second = make_slot(world.centre, world.biontech, at(25, 9), capacity=5, released=False)
    _partner, _key, text = make_partner(world.region)
    codes = codes_for(world, "+4915112345678")
    body = json.dumps(
        {
            "codes": codes[:1],
            "district": world.district.ags,
            "first_slot": first.pk,
            "second_slot": second.pk,
        }
    )
    barrier = threading.Barrier(6)

    def attempt(_i):
        try:
            barrier.wait(timeout=30)
            response = Client().post(
                "/api/v1/partner/bookings",
                body,
                content_type="application/json",
                HTTP_X_API_KEY=text,
                HTTP_IDEMPOTENCY_KEY="same",
            )
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(attempt, range(6)))
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert AppointmentPair.objects.filter(status=PairStatus.BOOKED).count() == 1
    first.refresh_from_db()
    assert first.booked == 1


# --- registrations (assignment mode) ----------------------------------------------------------


REGISTRATION = {
    "first_name": "Erika",
    "last_name": "Muster",
    "birth_date": "1950-03-15",
    "street": "Rheinstraße 12",
    "postcode": "48143",
    "city": "Münster",
    "residence": "first",
    "vaccine": "L920",
    "email": "erika@example.org",
}


def test_API_register_and_query_a_registration(pool):
    _partner, _key, text = make_partner(pool.region)
    body = REGISTRATION | {
        "region": pool.region.slug,
        "centre": pool.centre.pk,
        "password": PASSWORD,
    }
    created = call(pool, "post", "/partner/registrations", body, key=text)
    assert created.status_code == 201, created.content
    answer = created.json()
    registration = Registration.objects.get()
    assert answer["vorgangskennung"] == registration.vorgangskennung
    assert registration.channel == Channel.API and registration.password
    assert answer["status"] == "waiting" and answer["booking"] is None
    found = call(
        pool,
        "post",
        "/partner/registrations/lookup",
        {"vorgangskennung": registration.vorgangskennung, "birth_date": "1950-03-15"},
        key=text,
    )
    assert (
        found.status_code == 200 and found.json()["vorgangskennung"] == registration.vorgangskennung
    )
    wrong = call(
        pool,
        "post",
        "/partner/registrations/lookup",
        {"vorgangskennung": registration.vorgangskennung, "birth_date": "1950-03-16"},
        key=text,
    )
    assert wrong.status_code == 404 and wrong.json()["code"] == "not_found"


def test_API_registration_lookups_are_throttled_per_vorgangskennung(pool):
    _partner, _key, text = make_partner(pool.region)
    body = REGISTRATION | {"region": pool.region.slug, "centre": pool.centre.pk}
    call(pool, "post", "/partner/registrations", body, key=text)
    registration = Registration.objects.get()
    assert not registration.password  # none given: managed by phone (R21)
    statuses = [
        call(
            pool,
            "post",
            "/partner/registrations/lookup",
            {"vorgangskennung": registration.vorgangskennung, "birth_date": f"1950-01-{day:02d}"},
            key=text,
        ).status_code
        for day in range(1, 8)
    ]
    assert statuses[:5] == [404] * 5 and statuses[5:] == [429, 429]


def test_API_registration_in_a_codes_region_is_refused(partner_world):
    body = REGISTRATION | {"region": partner_world.region.slug, "centre": partner_world.centre.pk}
    refused = call(partner_world, "post", "/partner/registrations", body)
    assert refused.status_code == 404 and refused.json()["code"] == "unknown_region"
    assert not Registration.objects.exists()


def test_API_example_session_command_runs_and_leaves_nothing_behind(partner_world):
    from io import StringIO

    from django.core.management import call_command

    from impftermin.api.models import Partner

    out = StringIO()
    before = Partner.objects.count()
    call_command("api_example_session", stdout=out)
    text = out.getvalue()
    assert "< 201 (Idempotent-Replayed: true)" in text and "< 404" in text
    assert Partner.objects.count() == before and not AppointmentPair.objects.exists()


@pytest.mark.parametrize("day", ["9999-12-31", "1900-01-01"])
def test_API_a_search_far_out_of_range_is_refused_plainly(partner_world, day):
    query = {"district": partner_world.district.ags, "vaccine": "L920", "date_from": day}
    response = call(partner_world, "get", "/partner/pairs", query)
    assert response.status_code == 400 and response.json()["code"] == "date_invalid"


def test_API_a_claim_left_by_a_dead_request_is_taken_over_after_a_minute(partner_world):
    from impftermin.api.services import idempotency_fingerprint

    codes = codes_for(partner_world, "+4915112345678")
    body = book_body(partner_world, codes[:1])
    stale = IdempotentReply.objects.create(
        partner=partner_world.partner,
        key="dead",
        fingerprint=idempotency_fingerprint(
            "POST", "/api/v1/partner/bookings", json.dumps(body).encode()
        ),
    )
    busy = call(partner_world, "post", "/partner/bookings", body, HTTP_IDEMPOTENCY_KEY="dead")
    assert busy.status_code == 409 and busy.json()["code"] == "idempotency_in_progress"
    IdempotentReply.objects.filter(pk=stale.pk).update(
        created_at=stale.created_at - dt.timedelta(minutes=2)
    )
    taken = call(partner_world, "post", "/partner/bookings", body, HTTP_IDEMPOTENCY_KEY="dead")
    assert taken.status_code == 201
    assert AppointmentPair.objects.filter(status=PairStatus.BOOKED).count() == 1
