"""Values the database cannot store (a NUL character) are bad input: 422, never a 500."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/regions/a%00b/districts",
        "/api/v1/centres?region=a%00b",
        "/api/v1/centres?district=1%002",
        "/api/v1/availability?centre=1&vaccine=a%00",
        "/api/v1/postcodes/1234%00",
    ],
)
def test_a_nul_character_in_a_public_read_is_refused_as_bad_input(client, world, url):
    response = client.get(url)
    assert response.status_code in (404, 422)
    assert response.json()["code"] in ("invalid_input", "unknown_region", "unknown_centre")
