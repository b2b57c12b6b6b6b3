"""The 2021 impfterminservice.de protocol (impftermin.its): each operation and its error
cases through Django's test client, a 2021 client's whole walk against the live server
with mail from a real SMTP server, and many clients racing for one pair."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from impftermin.booking.models import AppointmentPair, Channel, PairStatus
from impftermin.codes import services as code_services
from impftermin.core.throttle import Limit
from impftermin.notifications.models import OutboundMessage
from impftermin.regions.models import BookingMode
from tests.codes.helpers import pin_from_sms
from tests.factories import (
    at,
    make_centre,
    make_district,
    make_postcode,
    make_region,
    make_slot,
)
from tests.mail import run_worker

PLZ = "48143"  # the world's centre in Münster
BIRTHDAY = "1950-04-01"


@pytest.fixture
def its(world):
    """The world's region in codes mode with KV number, a free pair in Münster and the
    group's base path."""
    world.region.kv_number = "20"
    world.region.save()
    world.other_centre.postcode = "48565"
    world.other_centre.save()
    make_postcode(PLZ, world.district)
    first = make_slot(world.centre, world.biontech, at(3, 9), capacity=1)
    second = make_slot(world.centre, world.biontech, at(25, 9), capacity=3, released=False)
    world.slots = {"first": first, "second": second}
    world.base = f"/its/{world.district.ags}/"
    return world


def basic(code: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f":{code}".encode()).decode()}


def post(client: Client, path: str, body, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


def request_pin(client, world, *, phone="+4915112345678", birthday=BIRTHDAY, single=False):
    return post(
        client,
        world.base + "rest/smspin/anforderung",
        {
            "plz": PLZ,
            "email": "person@example.org",
            "phone": phone,
            "birthday": birthday,
            "einzeltermin": single,
        },
    )


def its_codes(client, world, phone="+4915112345678") -> list[str]:
    """A 2021 client's way to codes: PIN request, PIN from the SMS, verification, then the
    e-mail link (as the person clicks it) and the codes from the mail."""
    token = request_pin(client, world, phone=phone).json()["token"]
    response = post(
        client, world.base + "rest/smspin/verifikation", {"token": token, "smspin": pin_from_sms()}
    )
    assert response.status_code == 200, response.content
    link = OutboundMessage.objects.filter(kind="email_verification").latest("id").body
    code_services.email_link_confirm(
        token=re.search(r"/email-bestaetigen/([^/\s]+)/", link).group(1)
    )
    body = OutboundMessage.objects.filter(kind="booking_codes").latest("id").body
    return re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", body)


def booking(world, code, slots=None, plz=PLZ):
    if slots is None:
        slots = [str(world.slots["first"].pk), str(world.slots["second"].pk)]
    body = {
        "plz": plz,
        "slots": slots,
        "qualifikationen": ["L920"],
        "contact": {
            "anrede": "Frau",
            "vorname": "Erika",
            "nachname": "Mustermann",
            "strasse": "Domplatz",
            "hausnummer": "1",
            "plz": PLZ,
            "ort": "Münster",
            "phone": "+4915112345678",
            "notificationChannel": "email",
            "notificationReceiver": "person@example.org",
        },
    }
    return post(Client(), world.base + "rest/buchung", body, **basic(code))


# --- public lists ---------------------------------------------------------------------------


def test_ITS_centre_list_groups_centres_by_land_with_their_group_url(its, client):
    hessen = make_region(name="Hessen", slug="he", booking_mode=BookingMode.ASSIGNMENT)
    make_centre(make_district(hessen), name="Impfzentrum Darmstadt", postcode="64283")
    listing = client.get("/assets/static/impfzentren.json").json()
    assert list(listing) == ["Nordrhein-Westfalen"]  # assignment mode knows no codes
    entries = {e["Zentrumsname"]: e for e in listing["Nordrhein-Westfalen"]}
    assert entries["Impfzentrum Münster"] == {
        "Zentrumsname": "Impfzentrum Münster",
        "PLZ": "48143",
        "Ort": "Münster",
        "Bundesland": "Nordrhein-Westfalen",
        "URL": f"http://testserver/its/{its.district.ags}/",
        "Adresse": "Hauptstraße 1",
    }
    assert entries["Impfzentrum Steinfurt"]["URL"].endswith(f"/its/{its.other_district.ags}/")
    assert client.get(entries["Impfzentrum Münster"]["URL"]).status_code == 200


def test_ITS_vaccination_list_names_the_groups_vaccines_by_qualification(its, client):
    entries = client.get(its.base + "assets/static/its/vaccination-list.json").json()
    assert entries == [
        {
            "qualification": "L920",
            "name": "Comirnaty (BioNTech/Pfizer)",
            "short": "Comirnaty",
            "tssname": "Comirnaty",
            "interval": 21,
            "age": "12+",
            "tssage": "12+",
        }
    ]
    assert client.get("/its/99999/assets/static/its/vaccination-list.json").status_code == 404


def test_ITS_termincheck_says_whether_pairs_are_free_and_for_which_vaccines(its, client):
    url = its.base + "rest/suche/termincheck"
    answer = client.get(url, {"plz": PLZ, "leistungsmerkmale": "L920,L921"}).json()
    assert answer == {"termineVorhanden": True, "vorhandeneLeistungsmerkmale": ["L920"]}
    assert client.get(url, {"plz": PLZ, "leistungsmerkmale": "L921"}).json() == {
        "termineVorhanden": False,
        "vorhandeneLeistungsmerkmale": [],
    }
    # Steinfurt's centre belongs to another group: not known at this URL
    refused = client.get(url, {"plz": "48565"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "PLZ"
    its.slots["first"].booked = 1
    its.slots["first"].save()
    # a change outside the booking engine is served from the cache (what 2021 bots polled
    # hardest) until it expires ...
    assert client.get(url, {"plz": PLZ}).json()["termineVorhanden"] is True
    cache.clear()  # ... then computed anew
    assert client.get(url, {"plz": PLZ}).json()["termineVorhanden"] is False


# --- SMS PIN (R2, R3) -------------------------------------------------------------------------


def test_ITS_R2_pin_request_sends_the_pin_and_answers_a_token(its, client):
    response = request_pin(client, its)
    assert response.status_code == 200 and len(response.json()["token"]) > 20
    sms = OutboundMessage.objects.get(kind="sms_pin")
    assert sms.recipient == "+4915112345678" and re.search(r"\b\d{6}\b", sms.body)


def test_ITS_R3_fourth_pin_of_the_day_answers_anfragelimit_erreicht(its, client):
    for _i in range(3):
        assert request_pin(client, its).status_code == 200
    refused = request_pin(client, its)
    assert refused.status_code == 400 and refused.json() == {"error": "Anfragelimit erreicht."}
    assert OutboundMessage.objects.filter(kind="sms_pin").count() == 3


def test_ITS_pin_requests_over_the_clients_limit_answer_429_with_retry_after(
    its, client, monkeypatch
):
    monkeypatch.setattr(
        code_services,
        "PIN_REQUESTS_PER_CLIENT",
        Limit("pin-request-client", 2, dt.timedelta(hours=1)),
    )
    phones = ["+4915112345678", "+4915112345679", "+4915112345670"]
    answers = [request_pin(client, its, phone=phone) for phone in phones]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 0 < int(answers[2]["Retry-After"]) <= 3600
    assert answers[2].json()["errors"][0]["code"] == "THROTTLED"
    assert OutboundMessage.objects.filter(kind="sms_pin").count() == 2


@pytest.mark.parametrize(
    "change, code",
    [
        ({"birthday": "01.04.1950"}, "BIRTHDAY"),
        ({"birthday": None}, "BIRTHDAY"),
        ({"einzeltermin": "ja"}, "EINZELTERMIN"),
        ({"plz": "99999"}, "PLZ"),
        ({"phone": "0211 123456"}, "MOBILE_NOT_MOBILE"),
        ({"email": "kein-at"}, "EMAIL_INVALID"),
        ({"email": ["@"]}, "EMAIL_INVALID"),
        ({"email": {"@": 1}}, "EMAIL_INVALID"),
        ({"phone": 15112345678}, "MOBILE_INVALID"),
        ({"birthday": "2015-01-01"}, "NICHT_BERECHTIGT"),  # too young for every vaccine
        ({"einzeltermin": True}, "NICHT_BERECHTIGT"),  # no single-dose vaccine offered here
    ],
)
def test_ITS_pin_request_refuses_bad_input_and_sends_nothing(its, client, change, code):
    body = {
        "plz": PLZ,
        "email": "person@example.org",
        "phone": "+4915112345678",
        "birthday": BIRTHDAY,
        "einzeltermin": False,
    } | change
    response = post(client, its.base + "rest/smspin/anforderung", body)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == code
    assert response.json()["errors"][0]["text"]
    assert not OutboundMessage.objects.exists()


@pytest.mark.parametrize("raw", ["{", "[]", b"\xff\xfe", "x" * 20000])
def test_ITS_malformed_bodies_are_refused_plainly(its, client, raw):
    response = post(client, its.base + "rest/smspin/anforderung", raw)
    assert response.status_code in (400, 413) and response.json()["errors"][0]["text"]


@pytest.mark.parametrize("size", [20_000, 3 * 1024 * 1024])  # ours, and above Django's own
def test_ITS_a_body_too_large_answers_413_in_the_protocols_format(its, client, size):
    response = post(client, its.base + "rest/buchung", "x" * size)
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "ZU_GROSS"


def test_ITS_R2_pin_verification_right_sends_the_link_wrong_answers_400(its, client):
    token = request_pin(client, its).json()["token"]
    url = its.base + "rest/smspin/verifikation"
    wrong = "000000" if pin_from_sms() != "000000" else "111111"
    refused = post(client, url, {"token": token, "smspin": wrong})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "PIN_WRONG"
    assert post(client, url, {"token": token, "smspin": pin_from_sms()}).status_code == 200
    assert OutboundMessage.objects.filter(kind="email_verification").count() == 1
    unknown = post(client, url, {"token": "nope", "smspin": "123456"})
    assert unknown.status_code == 400


def test_ITS_pin_checks_over_the_clients_limit_answer_429(its, client, monkeypatch):
    monkeypatch.setattr(
        code_services, "PIN_CHECKS_PER_CLIENT", Limit("pin-check-client", 2, dt.timedelta(hours=1))
    )
    token = request_pin(client, its).json()["token"]
    url = its.base + "rest/smspin/verifikation"
    wrong = "000000" if pin_from_sms() != "000000" else "111111"
    statuses = [post(client, url, {"token": token, "smspin": wrong}).status_code for _i in range(3)]
    assert statuses == [400, 400, 429]


# --- log-in, search, booking with a code ----------------------------------------------------


def test_ITS_login_reports_kv_vaccines_and_whether_the_code_is_booked(its, client):
    codes = its_codes(client, its)
    url = its.base + "rest/login"
    answer = client.get(url, {"plz": PLZ}, **basic(codes[0]))
    assert answer.status_code == 200
    assert answer.json() == {"kv": "20", "qualifikationen": ["L920"], "verknuepft": False}
    # the code with or without dashes, in any case; either code of the person
    assert (
        client.get(url, {"plz": PLZ}, **basic(codes[1].replace("-", "").lower())).status_code == 200
    )
    assert booking(its, codes[0]).status_code == 201
    assert client.get(url, {"plz": PLZ}, **basic(codes[0])).json()["verknuepft"] is True


@pytest.mark.parametrize(
    "header",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer abc"},
        {"HTTP_AUTHORIZATION": "Basic %%%"},
        {"HTTP_AUTHORIZATION": "Basic ä"},
        {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b":\xff\xfe").decode()},
        basic("ABCD-EFGH-JKMN"),
        basic("kurz"),
    ],
)
def test_ITS_login_and_search_refuse_a_missing_or_unknown_code_with_401(its, client, header):
    for path in ("rest/login", "rest/suche/impfterminsuche"):
        response = client.get(its.base + path, {"plz": PLZ}, **header)
        assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")


def test_ITS_a_code_is_valid_in_its_group_only(its, client):
    codes = its_codes(client, its)
    other = f"/its/{its.other_district.ags}/"
    for path in ("rest/login", "rest/suche/impfterminsuche"):
        assert client.get(other + path, {"plz": "48565"}, **basic(codes[0])).status_code == 401
    refused = post(
        Client(),
        other + "rest/buchung",
        {"plz": "48565", "slots": ["1", "2"], "contact": {}},
        **basic(codes[0]),
    )
    assert refused.status_code == 401
    # nor on the web pages in another district (R9)
    with pytest.raises(code_services.ServiceError) as error:
        code_services.code_book_pair(
            code=codes[0], district_id=its.other_district.pk, first_slot_id=its.slots["first"].pk
        )
    assert error.value.code == "code_other_group"


def test_ITS_wrong_codes_over_the_clients_limit_answer_429(its, client, monkeypatch):
    monkeypatch.setattr(
        code_services,
        "CODE_LOOKUPS_PER_CLIENT",
        Limit("code-lookup-client", 2, dt.timedelta(hours=1)),
    )
    url = its.base + "rest/login"
    statuses = [
        client.get(url, {"plz": PLZ}, **basic(f"ABCD-EFGH-JKM{c}")).status_code for c in "NPQ"
    ]
    assert statuses == [401, 401, 429]


def test_ITS_a_code_found_valid_is_not_counted_again_wrong_ones_still_are(
    its, client, monkeypatch, django_assert_max_num_queries
):
    """Issue 9: a 2021 client polls with its code; a code found valid is remembered (no
    guess), so its polls skip the throttle's writes; wrong codes still count."""
    codes = its_codes(client, its)
    monkeypatch.setattr(
        code_services,
        "CODE_LOOKUPS_PER_CLIENT",
        Limit("code-lookup-client", 2, dt.timedelta(hours=1)),
    )
    url = its.base + "rest/suche/impfterminsuche"
    assert client.get(url, {"plz": PLZ}, **basic(codes[0])).status_code == 200
    with django_assert_max_num_queries(1):  # the code's set; group, offers: cached
        assert client.get(url, {"plz": PLZ}, **basic(codes[0])).status_code == 200
    statuses = [
        client.get(url, {"plz": PLZ}, **basic(f"ABCD-EFGH-JKM{c}")).status_code for c in "NPQ"
    ]
    assert statuses == [401, 401, 429]
    assert client.get(url, {"plz": PLZ}, **basic(codes[0])).status_code == 200


def test_ITS_search_lists_bookable_pairs_with_epoch_millis_and_the_centre(its, client):
    codes = its_codes(client, its)
    answer = client.get(its.base + "rest/suche/impfterminsuche", {"plz": PLZ}, **basic(codes[0]))
    assert answer.status_code == 200
    data = answer.json()
    first, second = its.slots["first"], its.slots["second"]
    bsnr = f"{its.centre.pk:09d}"
    assert data["termine"] == [
        [
            {"slotId": str(first.pk), "begin": int(first.start.timestamp() * 1000), "bsnr": bsnr},
            {"slotId": str(second.pk), "begin": int(second.start.timestamp() * 1000), "bsnr": bsnr},
        ]
    ]
    assert data["termineTSS"] == [] and data["gesuchteLeistungsmerkmale"] == ["L920"]
    assert data["praxen"][bsnr]["name"] == "Impfzentrum Münster"


def test_ITS_booking_answers_201_and_mails_the_confirmation(its, client):
    codes = its_codes(client, its)
    response = booking(its, codes[0])
    assert response.status_code == 201
    pair = AppointmentPair.objects.get(status=PairStatus.BOOKED)
    assert pair.channel == Channel.API
    assert [a.slot_id for a in pair.appointments.order_by("dose")] == [
        its.slots["first"].pk,
        its.slots["second"].pk,
    ]
    assert OutboundMessage.objects.filter(kind="booking_confirmation").count() == 1


def test_ITS_a_second_booking_with_the_same_code_answers_WP009(its, client):
    codes = its_codes(client, its)
    later = make_slot(its.centre, its.biontech, at(4, 9), capacity=1)
    assert booking(its, codes[0]).status_code == 201
    refused = booking(its, codes[1], slots=[str(later.pk), str(its.slots["second"].pk)])
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "WP009"
    assert AppointmentPair.objects.filter(status=PairStatus.BOOKED).count() == 1


def test_ITS_a_slot_taken_meanwhile_answers_BU004_slot_nicht_frei(its, client):
    codes = its_codes(client, its)
    its.slots["first"].booked = 1  # someone else took the only seat
    its.slots["first"].save()
    refused = booking(its, codes[0])
    assert refused.status_code == 400
    assert refused.json() == {"errors": [{"code": "BU004", "text": "Slot nicht frei"}]}
    assert not AppointmentPair.objects.exists()


def test_ITS_a_pair_no_longer_offered_answers_WP011(its, client):
    codes = its_codes(client, its)
    first, second = its.slots["first"], its.slots["second"]
    too_late = make_slot(its.centre, its.biontech, at(60, 9), capacity=3, released=False)
    unreleased = make_slot(its.centre, its.biontech, at(5, 9), capacity=3, released=False)
    elsewhere = make_slot(its.other_centre, its.biontech, at(3, 9), capacity=3)
    past = make_slot(its.centre, its.biontech, at(-1, 9), capacity=3)
    for slots in (
        [str(first.pk), str(too_late.pk)],  # outside the interval
        [str(unreleased.pk), str(second.pk)],  # not released yet
        [str(elsewhere.pk), str(second.pk)],  # another group's centre
        [str(past.pk), str(second.pk)],
        [str(first.pk)],  # a two-dose vaccine needs the pair
        [str(first.pk), str(first.pk)],
        ["999999", str(second.pk)],
        ["abc", "1"],
        [],
    ):
        refused = booking(its, codes[0], slots=slots)
        assert refused.status_code == 400, slots
        assert refused.json()["errors"][0]["code"] == "WP011", slots
    assert not AppointmentPair.objects.exists()


def test_ITS_booking_refuses_a_malformed_contact(its, client):
    codes = its_codes(client, its)
    response = post(
        Client(),
        its.base + "rest/buchung",
        {
            "plz": PLZ,
            "slots": [str(its.slots["first"].pk), str(its.slots["second"].pk)],
            "contact": {"vorname": 5},
        },
        **basic(codes[0]),
    )
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "KONTAKT"
    assert not AppointmentPair.objects.exists()


# --- a 2021 client's whole walk, and a race --------------------------------------------------


def _http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.mark.django_db(transaction=True)
def test_ITS_a_2021_client_walks_pin_codes_search_book_and_gets_WP009_the_second_time(
    its, live_server, smtp, settings, tmp_path
):
    settings.SITE_URL = live_server.url
    settings.SMS_BACKEND = "impftermin.notifications.transports.ConsoleFileSmsBackend"
    settings.OUTBOX_DIR = tmp_path
    smtp.start()
    status, listing = _http("GET", live_server.url + "/assets/static/impfzentren.json")
    centre = next(c for c in listing["Nordrhein-Westfalen"] if c["PLZ"] == PLZ)
    base = centre["URL"]  # the client knows nothing but this
    status, check = _http("GET", base + f"rest/suche/termincheck?plz={PLZ}&leistungsmerkmale=L920")
    assert status == 200 and check["termineVorhanden"] is True
    status, answer = _http(
        "POST",
        base + "rest/smspin/anforderung",
        {
            "plz": PLZ,
            "email": "person@example.org",
            "phone": "+4915112345678",
            "birthday": BIRTHDAY,
            "einzeltermin": False,
        },
    )
    assert status == 200
    run_worker()  # the SMS backend writes the SMS, the mails go to the SMTP server
    sms = next(tmp_path.glob("*-sms.txt")).read_text(encoding="utf-8")
    pin = re.search(r"\b(\d{6})\b", sms).group(1)
    status, _body = _http(
        "POST", base + "rest/smspin/verifikation", {"token": answer["token"], "smspin": pin}
    )
    assert status == 200
    run_worker()
    link_mail = smtp.inbox.latest("E-Mail-Adresse").get_content()
    link = re.search(r"https?://\S+/email-bestaetigen/\S+/", link_mail).group(0)
    # the person confirms in the browser (a POST from the page the link opens)
    browser = Client()
    assert browser.post(link.replace(live_server.url, "")).status_code == 200
    run_worker()
    codes = re.findall(
        r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b",
        smtp.inbox.latest("Vermittlungscodes").get_content(),
    )
    auth = {"Authorization": "Basic " + base64.b64encode(f":{codes[0]}".encode()).decode()}
    status, login = _http("GET", base + f"rest/login?plz={PLZ}", headers=auth)
    assert status == 200 and login["qualifikationen"] == ["L920"]
    status, found = _http("GET", base + f"rest/suche/impfterminsuche?plz={PLZ}", headers=auth)
    assert status == 200 and found["termine"]
    pair = [slot["slotId"] for slot in found["termine"][0]]
    contact = {
        "anrede": "Frau",
        "vorname": "Erika",
        "nachname": "Mustermann",
        "strasse": "Domplatz",
        "hausnummer": "1",
        "plz": PLZ,
        "ort": "Münster",
        "phone": "+4915112345678",
        "notificationChannel": "email",
        "notificationReceiver": "person@example.org",
    }
    booking_body = {"plz": PLZ, "slots": pair, "qualifikationen": ["L920"], "contact": contact}
    status, _body = _http("POST", base + "rest/buchung", booking_body, headers=auth)
    assert status == 201
    run_worker()
    confirmation = smtp.inbox.latest("Impftermin").get_body(preferencelist=("plain",))
    assert "Impfzentrum Münster" in confirmation.get_content()
    status, again = _http("POST", base + "rest/buchung", booking_body, headers=auth)
    assert status == 400 and again["errors"][0]["code"] == "WP009"
    assert AppointmentPair.objects.filter(status=PairStatus.BOOKED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ITS_R11_many_clients_book_the_same_pair_exactly_one_gets_201(its):
    people = 8
    client = Client()
    codes = [its_codes(client, its, phone=f"+49151123456{n:02d}")[0] for n in range(people)]
    barrier = threading.Barrier(people)

    def attempt(code):
        try:
            barrier.wait(timeout=30)
            response = booking(its, code)
            return response.status_code, response.json().get("errors", [{}])[0].get("code")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=people) as pool:
        outcomes = list(pool.map(attempt, codes))
    assert sorted(outcomes, key=str).count((201, None)) == 1
    assert [o for o in outcomes if o != (201, None)] == [(400, "BU004")] * (people - 1)
    first = its.slots["first"]
    first.refresh_from_db()
    assert first.booked == 1 == AppointmentPair.objects.filter(status=PairStatus.BOOKED).count()
