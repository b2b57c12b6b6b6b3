"""Issue 10, item 2: who may open what, for every URL the URL configuration has — read
from it, so that a new view without a rule here fails the suite.

Each URL name has one rule: open to anyone (no personal data behind it), a step of a
citizen's flow or a link with a token (nothing without the flow's state or a valid
token), a booking code (the 2021 protocol), a partner's API key, a citizen's log-in, or
a staff permission. Anonymous requests to every URL, GET and POST, never show a person's
data and never fail with a 5xx; each staff page refuses every role without its permission
(403) and sends anonymous visitors to the log-in; the back office's pages too; one
citizen, in their own session, reaches nothing of another's. No URL carries personal
data: its parameters are ids, tokens and public keys only."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from pypdf import PdfReader

from impftermin.codes.services import code_book_pair
from impftermin.core import identifiers
from impftermin.registrations.services import registrations_assign
from impftermin.staff.roles import AGENT, CENTRE_STAFF, OPERATOR, SUPERVISOR
from tests.codes.helpers import codes_for
from tests.factories import at, make_postcode, make_slot
from tests.registrations.helpers import register
from tests.registrations.test_account_pages import log_in

OPEN = "open"  # anyone; no personal data behind it
FLOW = "flow"  # a step of a citizen's flow: nothing without the flow's state
TOKEN = "token"  # a link from a mail: nothing without a valid token
CODE = "code"  # the 2021 protocol's booking code (HTTP Basic)
API_KEY = "api key"  # a partner's key
CITIZEN = "citizen"  # a registered person's log-in
STAFF = "staff"  # any verified staff member


def staff(permission: str) -> str:
    return f"staff:{permission}"


CONSOLE = staff("staff.use_console")
DESK = staff("vaccinations.check_in")
STATISTICS = staff("vaccinations.view_vaccination")
PLANNING = staff("booking.add_slot")

RULES = {
    "healthz": OPEN,
    "readyz": OPEN,
    "set_language": OPEN,
    "waiting_room_refresh": OPEN,
    "home": OPEN,
    # the partners' API: public reference data and availability, the rest with a key
    "api-v1:api-root": OPEN,
    "api-v1:openapi-json": OPEN,
    "api-v1:openapi-view": OPEN,
    "api-v1:regions": OPEN,
    "api-v1:districts": OPEN,
    "api-v1:centres": OPEN,
    "api-v1:vaccines": OPEN,
    "api-v1:postcode": OPEN,
    "api-v1:availability": OPEN,
    "api-v1:pairs": API_KEY,
    "api-v1:book": API_KEY,
    "api-v1:booking": API_KEY,
    "api-v1:rebook": API_KEY,
    "api-v1:cancel": API_KEY,
    "api-v1:register": API_KEY,
    "api-v1:registration": API_KEY,
    # the 2021 protocol
    "its:centres": OPEN,
    "its:group": OPEN,
    "its:vaccination_list": OPEN,
    "its:termincheck": OPEN,
    "its:pin_request": OPEN,
    "its:pin_verify": OPEN,
    "its:openapi": OPEN,
    "its:login": CODE,
    "its:search": CODE,
    "its:book": CODE,
    # codes mode (Westfalen-Lippe)
    "codes:start": OPEN,
    "codes:eligibility": FLOW,
    "codes:pin_request": FLOW,
    "codes:pin_enter": FLOW,
    "codes:confirm_email": TOKEN,
    "codes:book": OPEN,
    "codes:choose": FLOW,
    "codes:confirmation": FLOW,
    "codes:check": OPEN,
    "codes:booking": FLOW,
    "codes:cancel": FLOW,
    "codes:data_export": FLOW,
    "codes:erase": FLOW,
    "codes:standby_join": FLOW,
    "codes:standby_offer": TOKEN,
    # assignment mode (Hessen)
    "registrations:start": OPEN,
    "registrations:details": FLOW,
    "registrations:registered": FLOW,
    "registrations:log_in": OPEN,
    "registrations:password_forgotten": OPEN,
    "registrations:password_reset": TOKEN,
    "registrations:account": CITIZEN,
    "registrations:log_out": OPEN,  # POST only; sends everyone to the log-in
    "registrations:document": CITIZEN,
    "registrations:data_export": CITIZEN,
    "registrations:choose": CITIZEN,
    "registrations:short_notice": CITIZEN,
    "registrations:cancel": CITIZEN,
    "registrations:delete": CITIZEN,
    "information:faq": OPEN,
    "information:page": OPEN,
    # staff
    "staff:verify": STAFF,
    "staff:enrol": STAFF,
    "staff:log_out": OPEN,  # POST only; sends everyone to the log-in
    "console:statistics": staff("staff.view_call_statistics"),
    "vaccinations:centres": DESK,
    "vaccinations:desk": DESK,
    "vaccinations:check_in": DESK,
    "vaccinations:vaccinate": DESK,
    "vaccinations:second_appointment": DESK,
    "vaccinations:statistics": STATISTICS,
    "vaccinations:daily_export": STATISTICS,
    "vaccinations:planning_centres": PLANNING,
    "vaccinations:planning": PLANNING,
}
CONSOLE_NAMES = {
    "home",
    "codes_book",
    "codes_book_times",
    "codes_lookup",
    "codes_booking",
    "codes_rebook",
    "codes_cancel",
    "codes_call_end",
    "registration_find",
    "registration_detail",
    "registration_end",
    "registration_choose",
    "registration_cancel",
    "registration_delete",
    "registration_couple",
    "registration_uncouple",
    "registration_new",
    "registration_new_details",
    "registration_created",
}
RULES |= {f"console:{name}": CONSOLE for name in CONSOLE_NAMES}

# What a URL's parameters may be: ids, public keys, tokens. No name, birth date, e-mail
# address, phone number or code in a URL (they end up in logs and browser histories).
PARAMETERS = {"ags", "region", "key", "slug", "postcode", "centre_id", "token", "uid"}


def urls() -> list[tuple[str, str, list[str]]]:
    """(name, route, parameter names) of every URL outside the back office."""
    found = []

    def walk(patterns, route: str, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace
                if inner == "admin":
                    continue  # the back office: test_back_office_is_staff_only
                name = f"{namespace}:{inner}" if namespace and inner else inner or namespace
                walk(pattern.url_patterns, route + str(pattern.pattern), name)
            elif isinstance(pattern, URLPattern) and pattern.name:
                full = route + str(pattern.pattern)
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found.append((name, full, re.findall(r"<(?:\w+:)?(\w+)>", full)))

    walk(get_resolver().url_patterns, "", None)
    return found


def test_every_url_has_an_access_rule_and_no_personal_data_in_its_parameters():
    names = {name for name, _route, _parameters in urls()}
    assert names - set(RULES) == set(), "a view without an access rule: add it to RULES"
    assert set(RULES) - names == set(), "a rule for a view that is gone"
    for name, _route, parameters in urls():
        assert set(parameters) <= PARAMETERS, (name, parameters)


@pytest.fixture
def person(world):
    """A person with booking codes, an e-mail address and a mobile number: the data that no
    anonymous answer may show."""
    codes = codes_for(world, "+4915112345678")
    return {"codes": codes, "secrets": ["family@example.org", "15112345678", *codes]}


def sample_url(name: str, world) -> str:
    values = {
        "ags": world.district.ags,
        "region": world.region.slug,
        "slug": world.region.slug,
        "key": "impressum",
        "postcode": "48143",
        "centre_id": world.centre.pk,
        "token": "A" * 43,
        "uid": "MQ",
    }
    parameters = next(p for n, _r, p in urls() if n == name)
    return reverse(name, kwargs={p: values[p] for p in parameters})


STAFF_LOG_IN = ("/admin/login/", "/mitarbeiter/code/")  # password, then the second factor


def opened(client: Client, url: str):
    """The page as a visitor opens it: GET, or POST where the view takes only POST."""
    response = client.get(url)
    return client.post(url) if response.status_code == 405 else response


def test_anonymous_requests_show_no_ones_data_and_never_fail(world, person):
    for name, _route, _parameters in urls():
        url = sample_url(name, world)
        for method in ("get", "post"):
            response = getattr(Client(), method)(url)
            assert response.status_code < 500, (name, method, response.status_code)
            body = b"".join(response) if response.streaming else response.content
            text = body.decode(errors="replace")
            for secret in person["secrets"]:
                assert secret not in text, (name, method, secret)
        rule = RULES[name]
        response = opened(Client(), url)
        if rule.startswith(STAFF):
            assert response.status_code == 302, (name, response.status_code)
            assert response["Location"].startswith(STAFF_LOG_IN), (name, response["Location"])
        elif rule == CITIZEN:
            assert response.status_code == 302, name
            assert reverse("registrations:log_in") in response["Location"], name
        elif rule in (CODE, API_KEY):  # refused with the protocol's answer, nothing more
            assert response.status_code in (400, 401, 403), (name, response.status_code)


@pytest.mark.parametrize("role", [AGENT, SUPERVISOR, CENTRE_STAFF, OPERATOR], ids=lambda r: r.key)
def test_staff_pages_refuse_every_role_without_their_permission(world, role, member, staff_client):
    client = staff_client(member(f"someone-{role.key}", role=role))
    for name, _route, _parameters in urls():
        rule = RULES[name]
        if not rule.startswith("staff:"):
            continue
        response = opened(client, sample_url(name, world))
        permission = rule.removeprefix("staff:")
        if permission in role.permissions:
            assert response.status_code != 403, (name, role.key)
            assert not response.get("Location", "").startswith(STAFF_LOG_IN), (name, role.key)
        else:
            assert response.status_code == 403, (name, role.key, response.status_code)


def test_a_centres_desk_is_closed_to_staff_of_another_centre(world, member, staff_client):
    """No object of one centre reachable from another's staff (object-level, not only the
    permission)."""
    own = member("desk-own", role=CENTRE_STAFF)
    world.centre.staff.add(own)
    client = staff_client(own)
    assert client.get(reverse("vaccinations:desk", args=[world.centre.pk])).status_code == 200
    other = reverse("vaccinations:desk", args=[world.other_centre.pk])
    assert client.get(other).status_code in (403, 404)


def test_back_office_is_staff_only(world, member, staff_client):
    """Every model page of the back office: anonymous visitors go to its log-in, a staff
    member whose role has no permission on the model gets no page."""
    pages = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    assert pages
    agent = staff_client(member("agent-in-admin", role=AGENT))
    for page in pages:
        anonymous = Client().get(page)
        assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"], page
        assert agent.get(page).status_code == 403, page


# --- one citizen never reaches another's data ---------------------------------------------


def text_of(response) -> str:
    body = b"".join(response) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    return body.decode(errors="replace")


DESTRUCTIVE = ("log_out", "cancel", "delete", "erase")  # posted last: they end B's state
ITS_BODY = {"plz": "48143", "slots": ["1", "2"], "contact": {}, "token": "x", "smspin": "1"}


def walk_every_url_as(
    client: Client, world, secrets_of_another: list[str], **headers
) -> set[tuple[str, str]]:
    """Every citizen-facing URL, GET first, then POST — those that end the visitor's own
    state (log-out, cancel, delete, erase) last: no answer shows the other person's data.
    The 2021 protocol's operations get a postcode and a JSON body, so that they reach the
    credential check. Returns the (method, name) answered 200."""
    names = [n for n, _r, _p in urls() if not RULES[n].startswith(STAFF)]
    last = [n for n in names if n.endswith(DESTRUCTIVE)]
    walk = [("get", n) for n in names]
    walk += [("post", n) for n in names if n not in last] + [("post", n) for n in last]
    served = set()
    for method, name in walk:
        url = sample_url(name, world)
        if name.startswith("its:"):
            url += "?plz=48143"
        if method == "post" and name.startswith("its:"):
            body = json.dumps(ITS_BODY)
            response = client.post(url, body, content_type="application/json", **headers)
        else:
            response = getattr(client, method)(url, **headers)
        assert response.status_code < 500, (name, method, response.status_code)
        text = text_of(response)
        for secret in secrets_of_another:
            assert secret not in text, (name, method, secret)
        if response.status_code == 200:
            served.add((method, name))
    return served


def test_a_person_with_codes_never_reaches_anothers_data(world):
    """Citizen B has checked their own code and is in the middle of the flow; citizen A's
    codes and number appear nowhere B can go — pages, exports, the 2021 protocol with B's
    code as its credential (no IDOR: nothing is addressed by a person's id)."""
    make_postcode("48143", world.district)
    first = make_slot(world.centre, world.biontech, at(5), capacity=2)
    second = make_slot(world.centre, world.biontech, at(27), capacity=2, released=False)
    codes_a = codes_for(world, "+4915112345678")
    codes_b = codes_for(world, "+4915187654321")
    for codes in (codes_a, codes_b):  # both have a booking to show
        code_book_pair(
            code=codes[0],
            district_id=world.district.pk,
            first_slot_id=first.pk,
            second_slot_id=second.pk,
        )
    client = Client()
    assert client.post("/termin/pruefen/", {"code": codes_b[0]}).status_code == 302
    assert "meine-daten.json" in client.get("/termin/pruefen/termin/").content.decode()
    basic = base64.b64encode(f":{codes_b[0].replace('-', '')}".encode()).decode()
    secrets = [*codes_a, *(code.replace("-", "") for code in codes_a), "15112345678"]
    served = walk_every_url_as(client, world, secrets, HTTP_AUTHORIZATION=f"Basic {basic}")
    # B's own pages and the protocol's answers to B's code were there to leak from
    assert {("get", "codes:booking"), ("get", "codes:data_export")} <= served
    assert {("get", "its:login"), ("get", "its:search"), ("post", "codes:booking")} <= served


def test_a_registered_person_never_reaches_anothers_data(pool):
    """Citizen B is logged in to their account; citizen A's name, address, Vorgangskennung
    and appointments appear nowhere B can go — account pages, the PDF, the export."""
    make_slot(pool.centre, pool.biontech, at(5), capacity=2)
    make_slot(pool.centre, pool.biontech, at(27), capacity=2, released=False)
    person_a = register(
        pool, first_name="Jürgen", last_name="Weiß", birth_date=dt.date(1939, 12, 24),
        street="Luisenplatz 1", email="juergen@example.org",
    )  # fmt: skip
    person_b = register(pool)
    assert registrations_assign() == 2
    client = Client()
    assert log_in(client, person_b).status_code == 302
    assert "Muster" in text_of(client.get(reverse("registrations:document")))
    secrets = ["Weiß", "Jürgen", "Luisenplatz", "juergen@example.org"]
    secrets += [identifiers.grouped(person_a.vorgangskennung), person_a.vorgangskennung]
    served = walk_every_url_as(client, pool, secrets)
    mine = {"registrations:account", "registrations:document", "registrations:data_export"}
    assert {("get", name) for name in mine} <= served  # B's own pages were there
