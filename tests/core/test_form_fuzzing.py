"""Issue 10, item 4: every public form takes whatever a visitor sends — any text, control
characters, very long values, missing fields — and answers with a page or a refusal,
never a server error. Hypothesis generates the values for the fields each page's form
actually has (read from the page)."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impftermin.regions.models import BookingMode
from tests.codes.helpers import codes_for
from tests.codes.test_citizen_pages import adult_birth_date
from tests.factories import at, make_postcode, make_slot
from tests.registrations.helpers import register
from tests.registrations.test_account_pages import log_in

FORMS = [
    "/termin/",
    "/termin/buchen/",
    "/termin/pruefen/",
    "/registrierung/",
    "/konto/anmelden/",
    "/konto/passwort-vergessen/",
    "/en/termin/",
    "/en/registrierung/",
]
FIELD = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')
VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=5000),
    st.sampled_from(["", "0", "-1", "99999999999999999999", "31.02.2021", "48143", "\x00", "%00"]),
)


def fields_of(client: Client, path: str) -> list[str]:
    names = FIELD.findall(client.get(path).content.decode())
    return sorted({n for n in names if n != "csrfmiddlewaretoken"})


@pytest.mark.parametrize("path", FORMS)
def test_hostile_form_values_never_make_a_server_error(db, world, path):
    make_postcode("48143", world.district)
    client = Client(raise_request_exception=False)
    names = fields_of(client, path)
    assert names, f"{path} shows no form"

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.fixed_dictionaries({}, optional=dict.fromkeys(names, VALUES)))
    def post(data):
        response = client.post(path, data)
        assert response.status_code < 500, (path, data, response.status_code)

    post()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
ITS_POST = ["rest/smspin/anforderung", "rest/smspin/verifikation", "rest/buchung"]
ITS_GET = ["rest/suche/termincheck", "rest/suche/impfterminsuche", "rest/login"]


@pytest.mark.parametrize("endpoint", ITS_POST + ITS_GET)
def test_the_2021_protocol_takes_any_json_and_any_query_without_a_server_error(db, world, endpoint):
    """The 2021 clients' endpoints: arbitrary JSON bodies (or none, or not JSON), arbitrary
    query parameters and Basic credentials; answered, never a 5xx."""
    client = Client(raise_request_exception=False)
    path = f"/its/{world.district.ags}/{endpoint}"
    credentials = st.one_of(st.none(), st.text(max_size=40))

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        body=st.one_of(JSON, st.binary(max_size=200)),
        query=st.dictionaries(st.sampled_from(["plz", "leistungsmerkmale", "x"]), VALUES),
        user=credentials,
    )
    def send(body, query, user):
        headers = {}
        if user is not None:
            token = base64.b64encode(f":{user}".encode()).decode()
            headers["HTTP_AUTHORIZATION"] = f"Basic {token}"
        if endpoint in ITS_POST:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            response = client.post(path, raw, content_type="application/json", **headers)
        else:
            response = client.get(path, query, **headers)
        assert response.status_code < 500, (endpoint, body, query, response.status_code)

    send()


# --- the later steps of the flows ---------------------------------------------------------


class FormFields(HTMLParser):
    """The fields of a page's forms and the values the page offers for each (hidden,
    radio, button and option values): the fuzzing mixes them with hostile ones, so that
    examples get past the nonce and reach the step's own checks."""

    def __init__(self):
        super().__init__()
        self.offered: dict[str, set[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name, value = attributes.get("name"), attributes.get("value")
        if tag == "option" and self._select and value:
            self.offered[self._select].add(value)
        elif tag in {"input", "select", "textarea", "button"} and name:
            self._select = name if tag == "select" else None
            if name != "csrfmiddlewaretoken":
                self.offered.setdefault(name, set())
                if tag in {"input", "button"} and value:
                    self.offered[name].add(value)


def fields_offered(page: str) -> dict[str, list[str]]:
    parser = FormFields()
    parser.feed(page)
    return {name: sorted(values) for name, values in parser.offered.items()}


def to_pin(client, world) -> str:
    assert client.post("/termin/", {"postcode": "48143"}).status_code == 302
    assert client.post("/termin/alter/", {"birth_date": adult_birth_date()}).status_code == 302
    return "/termin/pin/"


def to_eligibility(client, world) -> str:
    assert client.post("/termin/", {"postcode": "48143"}).status_code == 302
    return "/termin/alter/"


def to_pin_entry(client, world) -> str:
    to_pin(client, world)
    vaccine = client.get("/termin/pin/").context["form"].fields["vaccine"].choices[0][0]
    form = {"vaccine": vaccine, "mobile": "0151 11111111", "email": "family@example.org"}
    assert client.post("/termin/pin/", form).status_code == 302
    return "/termin/pin/eingeben/"


def _with_slots(world) -> None:
    make_slot(world.centre, world.biontech, at(5), capacity=2)
    make_slot(world.centre, world.biontech, at(27), capacity=4, released=False)


def _to_times_with_a_code(client, world) -> str:
    _with_slots(world)
    code = codes_for(world, "+4915111111111")[0]
    assert client.post("/termin/buchen/", {"code_1": code, "postcode": "48143"}).status_code == 302
    return code


def to_times(client, world) -> str:
    _to_times_with_a_code(client, world)
    return "/termin/buchen/termine/"


def to_booking(client, world) -> str:
    code = _to_times_with_a_code(client, world)
    offered = fields_offered(client.get("/termin/buchen/termine/").content.decode())
    chosen = {name: values[0] for name, values in offered.items() if values}
    assert client.post("/termin/buchen/termine/", chosen).status_code == 302
    assert client.post("/termin/pruefen/", {"code": code}).status_code == 302
    return "/termin/pruefen/termin/"


def to_registration_details(client, world) -> str:
    response = client.post("/registrierung/", {"postcode": "48143", "birth_date": "15.03.1950"})
    assert response.status_code == 302
    return response["Location"]


def to_account_choice(client, world) -> str:
    """A registered person, logged in, choosing their appointments themselves."""
    _with_slots(world)
    registration = register(world)
    log_in(client, registration)
    return "/konto/termin-waehlen/"


LATER_STEPS = [
    to_eligibility,
    to_pin,
    to_pin_entry,
    to_times,
    to_booking,
    to_registration_details,
    to_account_choice,
]


@pytest.mark.parametrize("walk", LATER_STEPS, ids=lambda walk: walk.__name__)
def test_hostile_values_at_a_later_step_never_make_a_server_error(db, pool, walk):
    """Walk a flow to a later step as a person would, then post generated values to the
    fields that step shows, mixed with the values it offers (its nonce, its options)."""
    world = pool
    if not walk.__name__.startswith(("to_registration", "to_account")):
        world.region.booking_mode = BookingMode.CODES
        world.region.save()
    client = Client(raise_request_exception=False)
    path = walk(client, world)
    offered = fields_offered(client.get(path).content.decode())
    assert offered, f"{path} shows no form"
    strategies = {
        name: st.one_of(st.sampled_from(values), VALUES) if values else VALUES
        for name, values in offered.items()
    }

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.fixed_dictionaries({}, optional=strategies))
    def post(data):
        response = client.post(path, data)
        assert response.status_code < 500, (path, data, response.status_code)

    post()
