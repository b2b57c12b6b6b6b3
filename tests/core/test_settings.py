"""Production settings refuse unsafe configuration; the embedded defaults are safe."""

import os
import subprocess
import sys

import pytest

CHECK = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"
GOOD_KEY = "k" * 64
FIELD_KEY = "x0Pdf9o3v0c9bY8l2yJ1p0m5Vt6WQ2n8s4r7u1e3a5A="  # a Fernet key: 32 bytes, base64


def start(*, script: str = CHECK, **env: str) -> subprocess.CompletedProcess:
    unset = {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SMS_GATEWAY_URL", "SMS_BACKEND"}
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    environment |= {"DJANGO_SETTINGS_MODULE": "impftermin.settings"}
    environment |= {"FIELD_ENCRYPTION_KEYS": FIELD_KEY} | env
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_the_development_secret_key():
    result = start(DJANGO_ENV="production", ALLOWED_HOSTS="impftermin.example")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = start(DJANGO_ENV="production", ALLOWED_HOSTS="impftermin.example", SECRET_KEY="short")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = start(
        DJANGO_ENV="production", ALLOWED_HOSTS="x.example", SECRET_KEY=GOOD_KEY, DEBUG="true"
    )
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = start(DJANGO_ENV="production", SECRET_KEY=GOOD_KEY, SMS_GATEWAY_URL=GATEWAY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


GATEWAY = "https://sms.example/send"


def test_production_refuses_to_start_without_an_sms_gateway():
    result = start(DJANGO_ENV="production", ALLOWED_HOSTS="x.example", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "SMS_GATEWAY_URL" in result.stderr


def test_production_with_its_own_secret_starts_with_secure_cookies():
    result = start(
        DJANGO_ENV="production",
        ALLOWED_HOSTS="impftermin.example",
        SECRET_KEY=GOOD_KEY,
        SMS_GATEWAY_URL=GATEWAY,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_production_refuses_to_start_without_its_field_encryption_keys():
    result = start(
        DJANGO_ENV="production",
        ALLOWED_HOSTS="impftermin.example",
        SECRET_KEY=GOOD_KEY,
        SMS_GATEWAY_URL=GATEWAY,
        FIELD_ENCRYPTION_KEYS="",
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FIELD_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("DEBUG", "maybe"),
        ("EMAIL_PORT", "twenty-five"),
        ("DJANGO_ENV", "staging"),
    ],
)
def test_malformed_configuration_is_refused_with_its_name(name, value):
    result = start(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


LOG_REFUSED_LINK = """
import logging, django
django.setup()
path = "/termin/warteliste/angebot/" + "A" * 20 + "b-_" * 8 + "/"
logging.getLogger("django.request").warning("Not Found: %s", path)
logging.getLogger("django.server").info('"POST %s HTTP/1.1" 404 5', path)
"""


def test_link_tokens_never_reach_the_log():
    """Django logs the path of every refused request (django.request) and the request line
    (django.server); the link tokens in those paths are redacted."""
    environment = os.environ | {"DJANGO_SETTINGS_MODULE": "impftermin.settings"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", LOG_REFUSED_LINK],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("/termin/warteliste/angebot/[redacted]/") == 2
    assert "AAAAAAAAAAAAAAAAAAAA" not in result.stderr
