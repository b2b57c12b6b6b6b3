"""Inactivity expiry: a staff session ends after STAFF_IDLE_MINUTES without a request; a
citizen's session is not touched."""

import time

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from impftermin.staff import middleware
from impftermin.staff.middleware import LAST_SEEN
from impftermin.staff.roles import OPERATOR
from tests.core.test_settings import GOOD_KEY, start
from tests.registrations.helpers import PASSWORD as CITIZEN_PASSWORD
from tests.registrations.helpers import register

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def idle_for(client, seconds: float) -> None:
    session = client.session
    session[LAST_SEEN] = time.time() - seconds
    session.save()


def test_a_staff_member_idle_too_long_is_logged_out(member, staff_client, settings):
    assert settings.STAFF_IDLE_MINUTES == 15
    client = staff_client(member("op", OPERATOR))
    assert client.get(INDEX).status_code == 200
    assert time.time() - client.session[LAST_SEEN] < 5

    idle_for(client, 15 * 60 + 1)
    response = client.get("/admin/regions/region/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/regions/region/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Sie waren 15 Minuten nicht aktiv und wurden zu Ihrer Sicherheit abgemeldet. "
        "Bitte melden Sie sich wieder an."
    ]
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"])
    assert page.status_code == 200 and "nicht aktiv" in page.content.decode()
    assert client.get(INDEX).status_code == 302  # the second factor went with it


def test_each_request_keeps_a_staff_session_alive(member, staff_client):
    client = staff_client(member("op", OPERATOR))
    client.get(INDEX)
    idle_for(client, 14 * 60)
    assert client.get(INDEX).status_code == 200
    assert time.time() - client.session[LAST_SEEN] < 5
    idle_for(client, 14 * 60)
    assert client.get(INDEX).status_code == 200
    # And a staff session ends with the browser, too.
    assert client.session.get_expire_at_browser_close()


def test_the_idle_time_is_a_setting(member, staff_client, settings):
    settings.STAFF_IDLE_MINUTES = 2
    client = staff_client(member("op", OPERATOR))
    client.get(INDEX)
    idle_for(client, 90)
    assert client.get(INDEX).status_code == 200
    idle_for(client, 121)
    assert client.get(INDEX).status_code == 302


def test_a_password_only_session_expires_too(client, member):
    member("op", OPERATOR)
    client.post(
        reverse("admin:login"), {"username": "op", "password": "ein-gutes-Mitarbeiterpasswort-7"}
    )
    idle_for(client, 16 * 60)
    assert client.get(reverse("staff:verify"))["Location"].startswith("/admin/login/")
    assert "_auth_user_id" not in client.session


def test_a_citizens_session_is_not_touched(client, pool, member, staff_client, monkeypatch):
    registration = register(pool)
    response = client.post(
        reverse("registrations:log_in"),
        {"vorgangskennung": registration.vorgangskennung, "password": CITIZEN_PASSWORD},
    )
    assert response.status_code == 302
    account = reverse("registrations:account")
    assert client.get(account).status_code == 200
    stored = dict(client.session.items())
    assert LAST_SEEN not in stored

    staff = staff_client(member("op", OPERATOR))
    assert staff.get(INDEX).status_code == 200

    # Half an hour later, as the middleware sees it: the staff member is logged out, the
    # citizen (whose flow keeps its own hour) is not, and nothing was added to their session.
    later = time.time() + 30 * 60
    monkeypatch.setattr(
        middleware, "time", type("Clock", (), {"time": staticmethod(lambda: later)})
    )
    assert staff.get(INDEX).status_code == 302
    assert client.get(account).status_code == 200
    assert dict(client.session.items()) == stored


def test_the_idle_time_must_be_a_positive_number_of_minutes():
    env = {"DJANGO_ENV": "development", "SECRET_KEY": GOOD_KEY}
    assert start(**env, STAFF_IDLE_MINUTES="30").returncode == 0
    for value in ["0", "-5", "soon"]:
        result = start(**env, STAFF_IDLE_MINUTES=value)
        assert result.returncode != 0 and "STAFF_IDLE_MINUTES" in result.stderr, value
