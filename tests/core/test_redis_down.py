"""Issue 10, item 7: Redis goes down while the service runs — a real redis-server of the
test's own, killed with SIGKILL in the middle. Redis holds nothing that cannot be lost:
the service degrades to the database (availability read from it, the waiting room's queue
in it, limits that Redis counted off) and keeps booking correctly: parallel bookings for
the last seats either commit or are refused cleanly, and the seat count adds up."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from impftermin.booking.models import Appointment, AppointmentPair, PairStatus
from impftermin.waitingroom import services as waiting_room
from impftermin.waitingroom.models import RoomMode, WaitingRoom
from tests.api.helpers import make_partner
from tests.codes.helpers import codes_for
from tests.conftest import CI
from tests.factories import at, make_postcode, make_slot
from tests.mail import free_port

pytestmark = [pytest.mark.postgres]
PEOPLE, SEATS = 6, 4


@pytest.fixture
def own_redis(settings):
    """A redis-server of this test's own on a free port, as the cache and the queue."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "needs redis-server (Debian's redis-server package)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - Debian's redis-server, fixed arguments
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _i in range(100):
        try:
            if client.ping():
                break
        except redis.ConnectionError:
            time.sleep(0.05)
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1},
        }
    }
    settings.WAITING_ROOM_BACKEND = "redis"
    yield server
    if server.poll() is None:
        server.kill()
    server.wait(10)


@pytest.mark.django_db(transaction=True)
def test_redis_killed_the_service_degrades_to_the_database_and_books_correctly(
    world, own_redis, capsys
):
    make_postcode("48143", world.district)
    first = make_slot(world.centre, world.biontech, at(4, 9), capacity=SEATS)
    second = make_slot(world.centre, world.biontech, at(26, 9), capacity=10, released=False)
    _partner, _key, key = make_partner(world.region)
    codes = [codes_for(world, f"+49151123456{n:02d}")[0] for n in range(PEOPLE)]
    availability = f"/api/v1/availability?centre={world.centre.pk}&days=14"
    assert Client().get(availability).status_code == 200  # cached in Redis
    WaitingRoom.objects.create(region=world.region, mode=RoomMode.ON, admissions_per_second=1)
    waiting_room.room_settings_changed(world.region.pk)
    before = Client()
    page = before.get("/termin/", {"region": world.region.slug})
    assert page.status_code == 200 and "Virtueller Warteraum" in page.content.decode()

    own_redis.kill()  # Redis is gone, mid-run
    own_redis.wait(10)

    assert Client().get(availability).status_code == 200  # from the database now
    for visitor in (before, Client()):  # an old ticket and a new one: pages, no error
        assert visitor.get("/termin/", {"region": world.region.slug}).status_code == 200
    assert codes_for(world, "+4915112345699")  # PIN, e-mail link and codes still work
    barrier = threading.Barrier(PEOPLE)

    def book(code: str) -> int:
        try:
            barrier.wait(timeout=30)
            return (
                Client()
                .post(
                    "/api/v1/partner/bookings",
                    {
                        "codes": [code],
                        "district": world.district.ags,
                        "first_slot": first.pk,
                        "second_slot": second.pk,
                    },
                    content_type="application/json",
                    HTTP_X_API_KEY=key,
                )
                .status_code
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        statuses = list(pool.map(book, codes))
    first.refresh_from_db()
    committed = statuses.count(201)
    refused = statuses.count(409)
    booked = AppointmentPair.objects.filter(status=PairStatus.BOOKED).count()
    assert committed == SEATS and refused == PEOPLE - SEATS, statuses
    assert booked == committed, "no booking lost, none made twice"
    assert first.booked == Appointment.objects.filter(slot=first).count() == SEATS
    with capsys.disabled():
        print(
            f"\nRedis killed: attempts {PEOPLE}, committed {committed}, refused {refused},"
            f" lost {committed - booked}, 5xx {sum(s >= 500 for s in statuses)}"
        )
