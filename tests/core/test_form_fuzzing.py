"""Issue 10, item 4: every public form takes whatever a visitor sends — any text, control
characters, very long values, missing fields — and answers with a page or a refusal,
never a server error. Hypothesis generates the values for the fields each page's form
actually has (read from the page)."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_postcode

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
