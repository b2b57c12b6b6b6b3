"""Issue 10, item 4: every public form takes whatever a visitor sends — any text, control
characters, very long values, missing fields — and answers with a page or a refusal,
never a server error. Hypothesis generates the values for the fields each page's form
actually has (read from the page)."""

from __future__ import annotations

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
