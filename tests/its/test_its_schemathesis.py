"""schemathesis against /its/openapi.json (issue 10, item 4): the 2021 protocol as described
in OpenAPI, every operation with generated requests — with the group's real key in the
path and a real booking code as the credential — must never make a server error nor an
answer the description does not cover (status, content type, body, headers)."""

import datetime as dt
import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from impftermin.core.throttle import Limit
from impftermin.its import views
from impftermin.its.openapi import SCHEMA
from tests.codes.helpers import codes_for
from tests.factories import at, make_postcode, make_slot
from tests.its.test_its_protocol import basic

# The description itself (its serving needs the database, which collection has not); the
# last test checks that the server serves exactly this.
HOUR = dt.timedelta(hours=1)
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(SCHEMA)))
schema.app = get_wsgi_application()


@pytest.fixture
def group(world, keep_connection, monkeypatch):
    """The world's district as a centre group with a free pair, and a booking code of it.
    The protocol's per-client limit is lifted: all generated requests come from one
    address, and 429s would hide the operations behind them."""
    monkeypatch.setattr(views, "REQUESTS_PER_CLIENT", Limit("its-client-test", 100_000, HOUR))
    world.region.kv_number = "20"
    world.region.save()
    make_postcode("48143", world.district)
    make_slot(world.centre, world.biontech, at(5, 9), capacity=2)
    make_slot(world.centre, world.biontech, at(27, 9), capacity=2, released=False)
    code = codes_for(world, "+4915112345678")[0]
    return world.district.ags, basic(code)["HTTP_AUTHORIZATION"]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_ITS_schemathesis_finds_no_server_error_and_no_answer_outside_the_description(case, group):
    ags, credential = group
    if case.path_parameters and "ags" in case.path_parameters:
        case.path_parameters["ags"] = ags  # a real group: the operations themselves run
    # Rules beyond the description (a postcode of no centre here, an age without a vaccine,
    # a slot not offered) refuse well-formed input with 400 by design: that check is left
    # out; every other built-in check runs.
    case.call_and_validate(
        headers={"Authorization": credential}, excluded_checks=[positive_data_acceptance]
    )


def test_ITS_the_description_is_served_as_checked(client, db):
    response = client.get("/its/openapi.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == json.loads(json.dumps(SCHEMA))
    assert set(response.json()["paths"]) >= {"/its/{ags}/rest/buchung", "/its/{ags}/rest/login"}
