"""The staff password log-in (Django's admin form) is throttled per account and per client:
every attempt counts before the password is checked, the right password gives its attempt
back; a refusal is a message on the form, and nothing is logged in."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from impftermin.core.throttle import Limit
from impftermin.staff import services

LOG_IN = reverse("admin:login")
PASSWORD = "a long staff password 1"


@pytest.fixture
def member(db):
    return User.objects.create_user("lena", password=PASSWORD, is_staff=True)


def _log_in(client, username, password, address="203.0.113.7"):
    return client.post(LOG_IN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_are_throttled_per_account_and_address(client, member):
    for _n in range(services.PASSWORD_LOG_IN_PER_ACCOUNT_AND_CLIENT.attempts):
        response = _log_in(client, "lena", "wrong")
        assert response.status_code == 200 and "Zu viele Versuche" not in response.content.decode()
    # from this address, even the right password waits now
    response = _log_in(client, "LENA ", PASSWORD)
    assert response.status_code == 200
    assert "Zu viele Versuche" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Lena at her own desk is not locked out by someone guessing elsewhere
    assert _log_in(client, "lena", PASSWORD, address="198.51.100.9").status_code == 302
    # and another account is not held up
    User.objects.create_user("mia", password=PASSWORD, is_staff=True)
    assert _log_in(client, "mia", PASSWORD).status_code == 302


def test_guessing_one_account_from_many_addresses_is_throttled(client, member, monkeypatch):
    limit = Limit("staff-log-in-account", 4, services.PASSWORD_LOG_IN_PER_ACCOUNT.window)
    monkeypatch.setattr(services, "PASSWORD_LOG_IN_PER_ACCOUNT", limit)
    for n in range(limit.attempts):
        _log_in(client, "lena", "wrong", address=f"203.0.113.{n + 10}")
    response = _log_in(client, "lena", PASSWORD, address="198.51.100.9")
    assert "Zu viele Versuche" in response.content.decode()


def test_an_unknown_account_name_is_throttled_alike(client, db):
    for _n in range(services.PASSWORD_LOG_IN_PER_ACCOUNT_AND_CLIENT.attempts):
        _log_in(client, "nobody", "wrong")
    assert "Zu viele Versuche" in _log_in(client, "nobody", "wrong").content.decode()


def test_wrong_passwords_are_throttled_per_client(client, member, monkeypatch):
    limit = Limit("staff-log-in-client", 3, services.PASSWORD_LOG_IN_PER_CLIENT.window)
    monkeypatch.setattr(services, "PASSWORD_LOG_IN_PER_CLIENT", limit)
    for n in range(limit.attempts):
        _log_in(client, f"guess{n}", "wrong")
    assert "Zu viele Versuche" in _log_in(client, "lena", PASSWORD).content.decode()
    assert _log_in(client, "lena", PASSWORD, address="198.51.100.9").status_code == 302


def test_the_right_password_gives_its_attempt_back(client, member):
    for _n in range(services.PASSWORD_LOG_IN_PER_ACCOUNT_AND_CLIENT.attempts + 2):
        client.logout()
        response = _log_in(client, "lena", PASSWORD)
        assert response.status_code == 302  # on to the second factor


def test_an_empty_form_counts_nothing(client, member):
    for _n in range(services.PASSWORD_LOG_IN_PER_ACCOUNT_AND_CLIENT.attempts + 2):
        assert _log_in(client, "lena", "").status_code == 200
    assert _log_in(client, "lena", PASSWORD).status_code == 302
