"""Issue 10, item 5: the headers every answer carries — a strict Content-Security-Policy,
no framing, no sniffing, no referrer leaving us — and cookies that scripts cannot read and
other sites do not send; in production also HSTS and cookies only over HTTPS. Browsers
keeping to the policy on every page: the walks in tests/e2e fail on any refusal."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories
from tests.core.test_settings import GATEWAY, GOOD_KEY, start


def policy(response) -> dict[str, list[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {words[0]: words[1:] for words in directives if words}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/en/",
        "/termin/",
        "/registrierung/",
        "/api/v1/regions",
        "/assets/static/impfzentren.json",
        "/admin/login/",
        "/mitarbeiter/code/",
        "/konto/anmelden/",
        "/does-not-exist/",
    ],
)
def test_every_answer_carries_the_security_headers(db, path):
    response = Client().get(path)
    found = policy(response)
    assert found["default-src"] == ["'self'"]
    assert found["script-src"] == ["'self'"]  # no inline script, no eval, no third party
    assert found["object-src"] == ["'none'"] and found["base-uri"] == ["'none'"]
    assert found["frame-ancestors"] == ["'none'"] and found["form-action"] == ["'self'"]
    assert all("http" not in value for values in found.values() for value in values)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_session_and_csrf_cookies_are_http_only_or_same_site(db, world):
    client = Client()
    page = client.get("/termin/")
    csrf = page.cookies["csrftoken"]
    assert csrf["samesite"] == "Lax"
    factories.make_postcode("48143", world.district)
    assert client.post("/termin/", {"postcode": "48143"}).status_code == 302
    session = client.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"


PRODUCTION_HEADERS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
    "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
)


def test_production_sends_hsts_and_cookies_only_over_https():
    result = start(
        DJANGO_ENV="production",
        ALLOWED_HOSTS="impftermin.example",
        SECRET_KEY=GOOD_KEY,
        SMS_GATEWAY_URL=GATEWAY,
        script=PRODUCTION_HEADERS,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"] * 5


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/termin/", "text/html"), ("/api/v1/regions", "json"), ("/its/05515/", "json")],
)
def test_a_database_gone_for_a_moment_answers_503_with_retry_after_not_a_500(db, path, kind):
    """handler500: connections cut (PostgreSQL restarting) are no fault of the request; any
    other failure stays a plain 500 page without a traceback."""
    from django.db import OperationalError
    from django.test import RequestFactory

    from impftermin.core.views import server_error

    request = RequestFactory().get(path)
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert kind in response["Content-Type"]
    assert "Traceback" not in response.content.decode()
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500 and not response.has_header("Retry-After")
    assert "a bug" not in response.content.decode()
