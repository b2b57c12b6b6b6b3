"""The virtual waiting room (issue 9): first come first served at the region's rate,
tickets and admissions that cannot be forged, admissions that expire, places kept across
a reload and a restart of the app processes, on the database and on Redis; the gate in
front of the booking pages and the 2021 protocol, which staff and partners pass."""

from __future__ import annotations

import os
import time

import pytest
from django.core import signing
from django.test import Client

from impftermin.waitingroom import middleware, services
from impftermin.waitingroom.models import RoomMode, WaitingRoom
from impftermin.waitingroom.queues import DatabaseQueue, RedisQueue
from tests import factories
from tests.conftest import CI

T0 = 1_900_000_000.0  # a fixed moment for the queue's clock

REDIS_CACHE = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    }
}


def redis_available() -> bool:
    import redis

    try:
        return redis.Redis.from_url(REDIS_CACHE["default"]["LOCATION"]).ping()
    except redis.RedisError:
        return False


@pytest.fixture(params=["database", "redis"])
def backend(request, settings, db):
    """Each test of the queue runs on both backends; Redis missing fails under CI."""
    if request.param == "redis":
        if not redis_available():
            if CI:
                pytest.fail("needs Redis at 127.0.0.1:6379")
            pytest.skip("needs Redis at 127.0.0.1:6379")
        settings.CACHES = REDIS_CACHE
        from django_redis import get_redis_connection

        get_redis_connection("default").flushdb()
    settings.WAITING_ROOM_BACKEND = request.param
    return request.param


@pytest.fixture
def room(world, monkeypatch):
    row = WaitingRoom.objects.create(region=world.region, mode=RoomMode.ON, admissions_per_second=2)
    world.free_slot = factories.make_slot(world.centre, world.biontech, factories.at(5))
    clock = {"now": T0}
    monkeypatch.setattr(services, "clock", lambda: clock["now"])
    world.room_row, world.clock = row, clock
    return world


def settings_of(world) -> services.Room:
    services.room_settings_changed(world.region.pk)
    return services.room_for(world.region.pk)


def test_R_queue_admits_first_come_first_served_at_the_rate(room, backend):
    room_ = settings_of(room)
    tickets = [services.ticket_take(room_, T0) for _i in range(5)]
    assert [t.number for t in tickets] == [1, 2, 3, 4, 5]
    admitted = lambda at: [services.ticket_place(room_, t, at).admitted for t in tickets]  # noqa: E731
    assert admitted(T0) == [False] * 5
    assert admitted(T0 + 1) == [True, True, False, False, False]  # 2 per second, in order
    assert admitted(T0 + 2.4) == [True] * 4 + [False]
    place = services.ticket_place(room_, tickets[4], T0 + 1)
    assert place.ahead == 2 and place.wait_seconds == 2


def test_R_an_idle_room_does_not_bank_admissions_for_a_later_crowd(room, backend):
    room_ = settings_of(room)
    services.ticket_take(room_, T0)
    later = T0 + 3600  # an hour without arrivals, then a crowd
    crowd = [services.ticket_take(room_, later) for _i in range(10)]
    assert sum(services.ticket_place(room_, t, later + 1).admitted for t in crowd) == 2


def test_R_the_queue_survives_a_restart_of_the_app_processes(room, backend):
    room_ = settings_of(room)
    first = services.ticket_take(room_, T0)
    services.ticket_take(room_, T0)
    # a new process: new queue objects and connections, nothing in memory
    fresh = RedisQueue() if backend == "redis" else DatabaseQueue()
    assert fresh.line(room_.id, room_.rate, T0 + 0.5) == services.room_line(room_, None, T0 + 0.5)
    assert fresh.take_ticket(room_.id, room_.rate, T0 + 0.5) == 3
    assert services.ticket_place(room_, first, T0 + 0.6).admitted


def test_R_tickets_and_admissions_cannot_be_forged_or_moved(room, backend):
    room_ = settings_of(room)
    ticket = services.ticket_take(room_, T0)
    signed = services.ticket_signed(room.region.pk, ticket)
    assert services.ticket_from(signed, room.region.pk) == ticket
    forged = signing.dumps({"r": room.region.pk, "n": 1, "b": ticket.backend}, salt="other")
    tampered = signed.replace(
        signed.split(":")[0], signing.dumps({"r": room.region.pk, "n": 0}).split(":")[0]
    )
    for value in (forged, tampered, signed + "x", "", None, "a" * 1000):
        assert services.ticket_from(value, room.region.pk) is None
    assert services.ticket_from(signed, room.region.pk + 1) is None  # another region's
    admission = services.admission_signed(room.region.pk)
    assert services.admission_valid(admission, room_)
    assert not services.admission_valid(admission.replace(":", ";", 1), room_)
    assert not services.admission_valid(signed, room_)  # a ticket is no admission


def test_R_an_admission_expires_after_the_rooms_minutes(room, backend, monkeypatch):
    room_ = settings_of(room)
    admission = services.admission_signed(room.region.pk)
    assert services.admission_valid(admission, room_)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + room_.minutes * 60 + 5)
    assert not services.admission_valid(admission, room_)


# --- the gate ----------------------------------------------------------------------------


def test_R_gate_queues_a_visitor_keeps_the_place_and_admits_in_turn(room):
    first, second = Client(), Client()
    waiting = first.get("/termin/", {"region": room.region.slug})
    assert waiting.status_code == 200 and "Virtueller Warteraum" in waiting.content.decode()
    assert (
        waiting["Cache-Control"] == "no-store"
        and 'http-equiv="refresh"' in waiting.content.decode()
    )
    assert "als Nächstes" in waiting.content.decode()
    behind = second.get("/termin/", {"region": room.region.slug}).content.decode()
    assert "Vor Ihnen wartet noch 1 Person." in behind
    # a reload (or a second tab: the same cookie) keeps the place
    assert (
        "Vor Ihnen wartet noch 1 Person."
        in second.get("/termin/", {"region": room.region.slug}).content.decode()
    )
    room.clock["now"] = T0 + 0.6  # one admission
    admitted = first.get("/termin/", {"region": room.region.slug})
    assert "Virtueller Warteraum" not in admitted.content.decode()
    assert services.admission_cookie_name(room.region.pk) in admitted.cookies
    # the second ticket's turn comes at 2 a second half a second later
    assert (
        "Virtueller Warteraum"
        in second.get("/termin/", {"region": room.region.slug}).content.decode()
    )
    # admitted: the following pages of the flow pass
    assert (
        "Virtueller Warteraum"
        not in first.get("/termin/", {"region": room.region.slug}).content.decode()
    )


def test_R_a_long_wait_is_looked_at_less_often(room):
    """The page refreshes every 20 s near the turn, every third of the wait (at most a
    minute) while it is long; Retry-After says when the turn comes if that is sooner."""
    for _i in range(300):  # 300 people ahead at 2 a second: 150 s
        services.ticket_take(services.room_for(room.region.pk), T0)
    waiting = Client().get("/termin/", {"region": room.region.slug})
    assert 'content="50"' in waiting.content.decode() and waiting["Retry-After"] == "50"
    assert middleware.refresh_seconds(3) == 20 and middleware.refresh_seconds(600) == 60


def test_R_gate_lets_staff_and_partners_through_and_is_off_when_off(room, staff_client, admin_user):
    assert (
        "Virtueller Warteraum"
        not in staff_client(admin_user)
        .get("/termin/", {"region": room.region.slug})
        .content.decode()
    )
    assert Client().get("/api/v1/regions").status_code == 200  # the API has no queue
    room.room_row.mode = RoomMode.OFF
    room.room_row.save()
    services.room_settings_changed(room.region.pk)
    assert (
        "Virtueller Warteraum"
        not in Client().get("/termin/", {"region": room.region.slug}).content.decode()
    )


def test_R_2021_clients_get_the_waiting_page_they_expect(room):
    response = Client().get(
        f"/its/{room.district.ags}/rest/suche/termincheck",
        {"plz": "48143"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "Virtueller Warteraum" in response.content.decode()
    # the centre list is no booking page: it stays open
    assert Client().get("/assets/static/impfzentren.json").status_code == 200


def test_R_auto_mode_switches_on_when_arrivals_exceed_the_threshold(room):
    room.room_row.mode = RoomMode.AUTO
    room.room_row.auto_arrivals_per_second = 3
    room.room_row.save()
    services.room_settings_changed(room.region.pk)
    pages = [
        Client().get("/termin/", {"region": room.region.slug}).content.decode() for _i in range(4)
    ]
    assert not any("Virtueller Warteraum" in page for page in pages)
    room.room_row.refresh_from_db()
    assert room.room_row.crowded_until is not None
    services.room_settings_changed(room.region.pk)
    later = Client().get("/termin/", {"region": room.region.slug}).content.decode()
    assert "Virtueller Warteraum" in later


def test_R_the_kept_waiting_page_shows_each_visitor_their_own_place_and_language(room):
    """The page around the place is rendered once and kept; the place is each visitor's,
    the language each visitor's, and the page carries no CSRF token (it is shared)."""
    middleware._pages.clear()
    pages = [Client().get("/termin/", {"region": room.region.slug}) for _i in range(3)]
    texts = [page.content.decode() for page in pages]
    assert "Sie sind als Nächstes an der Reihe." in texts[0]
    assert "Vor Ihnen wartet noch 1 Person." in texts[1]
    assert "Vor Ihnen warten noch 2 Personen." in texts[2]
    assert len(middleware._pages) == 1
    assert all("csrfmiddlewaretoken" not in text for text in texts)
    assert all("csrftoken" not in page.cookies for page in pages)
    english = Client().get("/en/termin/", {"region": room.region.slug}).content.decode()
    assert "3 people are waiting ahead of you." in english and 'lang="en"' in english
    assert "Virtueller Warteraum" in english  # the German name stays beside the English
    assert len(middleware._pages) == 2


def test_R_those_waiting_are_told_at_once_when_every_released_seat_is_taken(room):
    """Nobody waits minutes to learn that nothing is free: the page says so, the place is
    kept, and it looks again after a minute; when seats come free the wait goes on."""
    from django.core.cache import cache

    Client().get("/termin/", {"region": room.region.slug})  # someone ahead
    visitor = Client()
    assert (
        "Zurzeit sind alle"
        not in visitor.get("/termin/", {"region": room.region.slug}).content.decode()
    )
    room.free_slot.booked = room.free_slot.capacity
    room.free_slot.save()
    factories.make_slot(room.centre, room.biontech, factories.at(-1))  # past: no use
    factories.make_slot(room.centre, room.biontech, factories.at(6), released=False)
    cache.delete(f"waiting-room-free-seats:{room.region.pk}")
    sold_out = visitor.get("/termin/", {"region": room.region.slug})
    text = sold_out.content.decode()
    assert (
        "Zurzeit sind alle freigegebenen Termine vergeben. Vor Ihnen wartet noch 1 Person." in text
    )
    assert "Voraussichtliche Wartezeit" not in text
    assert sold_out["Retry-After"] == "60" and 'content="60"' in text
    english = visitor.get("/en/termin/", {"region": room.region.slug}).content.decode()
    assert "All released appointments are taken at the moment" in english
    # a registration (assignment mode) keeps its place in the pool: no such notice there
    registering = visitor.get("/registrierung/", {"region": room.region.slug})
    assert "Vor Ihnen wartet noch 1 Person." in registering.content.decode()
    assert "Zurzeit sind alle" not in registering.content.decode()
    room.free_slot.booked = 0
    room.free_slot.save()
    cache.delete(f"waiting-room-free-seats:{room.region.pk}")
    again = visitor.get("/termin/", {"region": room.region.slug}).content.decode()
    assert "Vor Ihnen wartet noch 1 Person." in again and "Zurzeit sind alle" not in again
