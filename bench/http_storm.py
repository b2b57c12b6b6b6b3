"""make bench-http: the whole service over HTTP under a release storm, on this machine.

The app runs under gunicorn (gthread workers) against PostgreSQL and Redis, as in
production (docs/production.md); an asyncio client (aiohttp) on loopback plays the
citizens. Each simulated citizen has its own address (X-Forwarded-For behind one trusted
proxy), so that per-client limits count people, not the load generator.

1. Ceilings, measured in the same run: a trivial view (/healthz, the stack's own ceiling)
   and the availability read (/api/v1/availability, served from the cache), each with
   READ_CLIENTS clients in a closed loop for READ_SECONDS.
2. Peak offered load: OFFERED_RPS requests a second (3x the 700 a second that took down the
   2021 portal) for PEAK_SECONDS, open loop, on the availability read and the 2021
   protocol's offer search; the 5xx and timeouts are counted. The waiting room is off for
   1 and 2: they measure the app's own answers.
3. Release storm (the waiting room switched on first): CITIZENS people arrive within ARRIVAL_SECONDS for PAIRS pairs. Each goes
   through the region's waiting room (admission rate ADMISSIONS_PER_SECOND), searches the
   offers of the 2021 protocol (/its/<AGS>/rest/suche/impfterminsuche, the path the 2021
   bots polled), books a pair (/its/<AGS>/rest/buchung; after a lost race another one),
   and some cancel or rebook through the partners' API. Afterwards the database is
   checked: overbooked slots, double bookings, seats that do not add up.

Figures: requests a second, bookings a second, latency p50/p95/p99 per endpoint, 5xx,
timeouts, overbookings, double bookings, and fairness: how far the order in which people
were let in departs from the order in which they arrived.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

from bench.common import bench_database_url, local_today, percentile, recreate_database

CITIZENS = int(os.environ.get("BENCH_HTTP_CITIZENS", 20_000))
ARRIVAL_SECONDS = float(os.environ.get("BENCH_HTTP_ARRIVAL_SECONDS", 60))
PAIRS = int(os.environ.get("BENCH_HTTP_PAIRS", 5_000))
ADMISSIONS_PER_SECOND = int(os.environ.get("BENCH_HTTP_ADMISSIONS", 20))
STORM_DEADLINE = float(os.environ.get("BENCH_HTTP_DEADLINE", 230))
WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS", 4))
THREADS = int(os.environ.get("BENCH_HTTP_THREADS", 16))
READ_CLIENTS = 64
READ_SECONDS = float(os.environ.get("BENCH_HTTP_READ_SECONDS", 4))
OFFERED_RPS = int(os.environ.get("BENCH_HTTP_OFFERED_RPS", 2_100))
PEAK_SECONDS = float(os.environ.get("BENCH_HTTP_PEAK_SECONDS", 3))
CANCEL_SHARE = 0.1
REBOOK_SHARE = 0.1
SEATS_PER_SLOT = 10
PARTNER_KEYS = 10  # a partner key may make 600 calls a minute
SOLD_OUT = "Zurzeit sind alle freigegebenen Termine vergeben."  # the waiting page's words
TIMEOUT_SECONDS = 60  # a person waits about a minute for a page before giving up
PORT = int(os.environ.get("BENCH_HTTP_PORT", 8765))
BASE = f"http://127.0.0.1:{PORT}"
PLZ = "99999"
AGS = "99001"
ROOT = Path(__file__).resolve().parent.parent
SERVER_LOG = Path(os.environ.get("IMPFTERMIN_VAR_DIR", ROOT / "var")) / "bench-http-server.log"


def server_environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "60",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TRUSTED_PROXIES": "1",
        "SECRET_KEY": "bench-http-" + "x" * 60,
        "LOG_LEVEL": "ERROR",
    }


# --- the world ----------------------------------------------------------------------------


def build_world() -> dict:
    """A region in codes mode with one district and centre, PAIRS first-dose seats (and as
    many second-dose seats three weeks later), CITIZENS sets of booking codes (phone
    codes: no mails), partner keys, and the waiting room on."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from impftermin.api.models import Partner
    from impftermin.api.services import api_key_issue
    from impftermin.booking.models import Slot
    from impftermin.booking.selectors import day_start
    from impftermin.centres.models import Centre, CentreCapacity
    from impftermin.codes.models import BookingCode, CodeSet
    from impftermin.core import identifiers
    from impftermin.core.identifiers import keyed_hash
    from impftermin.regions.models import District, Region
    from impftermin.vaccines.models import Vaccine
    from impftermin.waitingroom.models import RoomMode, WaitingRoom

    region = Region.objects.create(
        slug="storm",
        name="Storm",
        booking_mode="codes",
        bundesland="NW",
        kv_number="99",
        cap_by_allocation=False,
    )
    district = District.objects.create(
        ags=AGS, name="Storm", kind="kreis", population=1, region=region
    )
    centre = Centre.objects.create(
        district=district, name="Storm IZ", street="-", postcode=PLZ, city="-"
    )
    from tests.factories import VACCINES

    vaccine = Vaccine.objects.create(code="L920", **VACCINES["L920"])
    CentreCapacity.objects.create(centre=centre, vaccine=vaccine, slot_minutes=5, seats_per_slot=10)
    day = local_today() + dt.timedelta(days=4)  # far enough ahead to be moved (R20)
    firsts = [
        Slot(
            centre=centre,
            vaccine=vaccine,
            start=day_start(day + dt.timedelta(days=i // 144))
            + dt.timedelta(hours=8, minutes=5 * (i % 144)),
            capacity=SEATS_PER_SLOT,
            released=True,
        )
        for i in range(PAIRS // SEATS_PER_SLOT)
    ]
    seconds = [
        Slot(
            centre=centre,
            vaccine=vaccine,
            start=s.start + dt.timedelta(days=21),
            capacity=SEATS_PER_SLOT,
        )
        for s in firsts
    ]
    Slot.objects.bulk_create(firsts + seconds)
    sets = CodeSet.objects.bulk_create(
        [
            CodeSet(region=region, channel="phone", vaccine=vaccine, language="de")
            for _ in range(CITIZENS)
        ],
        batch_size=5000,
    )
    codes = [identifiers.random_string(12) for _ in sets]
    BookingCode.objects.bulk_create(
        [
            BookingCode(code_set=s, dose=1, code_hash=keyed_hash("booking-code", code))
            for s, code in zip(sets, codes, strict=True)
        ],
        batch_size=5000,
    )
    partner = Partner.objects.create(name="Storm-Hotline", scopes=["search", "book", "manage"])
    partner.regions.add(region)
    keys = [api_key_issue(partner_id=partner.pk)[1] for _ in range(PARTNER_KEYS)]
    WaitingRoom.objects.create(
        region=region,
        mode=RoomMode.OFF,  # on for the storm (open_waiting_room): 1 and 2 measure the app
        admissions_per_second=ADMISSIONS_PER_SECOND,
        admission_minutes=20,
    )
    return {"codes": codes, "keys": keys, "centre": centre.pk, "region": region.pk}


def open_waiting_room(world: dict) -> None:
    """As an operator does before a release: the region's waiting room on, seen by every
    app process at once. Off before, so that the ceilings and the peak measure the app's
    answers rather than waiting pages, and take no tickets from the storm's line."""
    from impftermin.waitingroom.models import RoomMode, WaitingRoom
    from impftermin.waitingroom.services import room_settings_changed

    WaitingRoom.objects.filter(region_id=world["region"]).update(mode=RoomMode.ON)
    room_settings_changed(world["region"])


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# --- the server -----------------------------------------------------------------------------


def start_server(env: dict[str, str]) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "impftermin.wsgi",
        "--bind",
        f"127.0.0.1:{PORT}",
        "--worker-class",
        "gthread",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
        "--backlog",
        "4096",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ]
    log = open(SERVER_LOG, "w")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn command line
        command, env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(BASE + "/readyz", timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    sys.exit("gunicorn did not come up")


def server_memory_mib(server: subprocess.Popen) -> float:
    """Memory of gunicorn's master and workers now (the sum of their proportional set
    sizes, so that pages they share count once), in MiB."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().split()
            rollup = (proc / "smaps_rollup").read_text()
        except OSError:
            continue
        if proc.name == str(server.pid) or stat[3] == str(server.pid):
            for line in rollup.splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total / 1024


# --- the client ------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.timeouts: dict[str, int] = defaultdict(int)
        self.broken: dict[str, int] = defaultdict(int)

    def count(self, name: str, status: int, seconds: float, text: str) -> None:
        self.latencies[name].append(seconds)
        self.statuses[name][f"{status}{refusal_code(text) if status >= 400 else ''}"] += 1

    def server_errors(self) -> int:
        return sum(n for s in self.statuses.values() for code, n in s.items() if code[0] == "5")

    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


async def call(session, recorder: Recorder, name: str, method: str, path: str, **kwargs):
    """One request; (status, headers, text) or None after a timeout or a broken connection."""
    import aiohttp

    started = time.perf_counter()
    try:
        async with session.request(method, BASE + path, allow_redirects=False, **kwargs) as answer:
            text = await answer.text()
            recorder.count(name, answer.status, time.perf_counter() - started, text)
            return answer.status, answer.headers, text
    except TimeoutError:
        # in the percentiles too: a person who gave up waited this long
        recorder.latencies[name].append(time.perf_counter() - started)
        recorder.timeouts[name] += 1
        return None
    except aiohttp.ClientError as error:  # refused, reset: counted apart from timeouts
        recorder.broken[f"{name}: {type(error).__name__}"] += 1
        return None


def refusal_code(text: str) -> str:
    """The refusal's code from an answer's JSON (the API's `code`, the 2021 protocol's
    `errors[0].code` or `error`), for the table."""
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f" {errors[0].get('code', '')}"
    return f" {body.get('code') or body.get('error') or ''}".rstrip()


def client_address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def new_session():
    import aiohttp

    return aiohttp.ClientSession(
        # Connections enough that requests wait at the server, not in the load generator.
        # At most 512 connections to the app, as a reverse proxy keeps to its upstream:
        # beyond them requests wait in line here, and that wait counts in the latencies
        # (it is what a person sees). An idle connection is closed before the server's
        # keep-alive ends, so that no request goes out on a connection being closed.
        connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=3),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
    )


async def closed_loop(name: str, path: str, seconds: float) -> tuple[Recorder, float]:
    recorder = Recorder()
    async with new_session() as session:
        stop = time.perf_counter() + seconds

        async def client(n: int):
            i = 0
            while time.perf_counter() < stop:
                i += 1
                headers = {"X-Forwarded-For": client_address(n * 1000 + i)}
                await call(session, recorder, name, "GET", path, headers=headers)

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(READ_CLIENTS)))
        return recorder, time.perf_counter() - started


async def open_loop(world: dict, seconds: float, rate: int) -> tuple[Recorder, float]:
    """`rate` requests a second whatever the answers' speed: availability reads and the
    2021 offer search, alternately."""
    recorder = Recorder()
    code = world["codes"][-1]  # a person who never books in the storm
    search = f"/its/{AGS}/rest/suche/impfterminsuche?plz={PLZ}"
    availability = f"/api/v1/availability?centre={world['centre']}&days=14"
    async with new_session() as session:
        started = time.perf_counter()
        tasks = []
        for i in range(int(seconds * rate)):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            headers = {"X-Forwarded-For": client_address(500_000 + i)}
            if i % 2:
                headers["Authorization"] = basic(code)
                tasks.append(
                    asyncio.create_task(
                        call(session, recorder, "its offers (peak)", "GET", search, headers=headers)
                    )
                )
            else:
                tasks.append(
                    asyncio.create_task(
                        call(
                            session,
                            recorder,
                            "availability (peak)",
                            "GET",
                            availability,
                            headers=headers,
                        )
                    )
                )
        await asyncio.gather(*tasks)
        return recorder, time.perf_counter() - started


def basic(code: str) -> str:
    return "Basic " + base64.b64encode(f":{code}".encode()).decode()


CONTACT = {
    "anrede": "Frau",
    "vorname": "Erika",
    "nachname": "Muster",
    "strasse": "Storm",
    "hausnummer": "1",
    "plz": PLZ,
    "ort": "Storm",
    "phone": "+4915112345678",
    "notificationChannel": "email",
    "notificationReceiver": "storm@example.org",
}


class Storm:
    def __init__(self, world: dict):
        self.world = world
        self.recorder = Recorder()
        self.admitted: list[tuple[float, int]] = []  # (time let in, arrival number)
        self.booked: list[float] = []
        self.outcomes: dict[str, int] = defaultdict(int)

    async def citizen(self, session, n: int, arrival: float) -> None:
        await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
        code = self.world["codes"][n]
        address = client_address(n)
        cookies: dict[str, str] = {}
        while True:  # the waiting room: the page says when to look again (Retry-After)
            headers = {"X-Forwarded-For": address}
            if cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            answer = await call(
                session, self.recorder, "waiting room", "GET", f"/its/{AGS}/", headers=headers
            )
            if answer is None:
                self.outcomes["gave up (timeout)"] += 1
                return
            status, response_headers, text = answer
            for morsel in response_headers.getall("Set-Cookie", []):
                name, _eq, rest = morsel.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
            if any(name.startswith("wr-pass-") for name in cookies):
                break
            if status != 200:
                self.outcomes[f"waiting room {status}"] += 1
                return
            if SOLD_OUT in text:  # told that every seat is taken: most people leave
                self.outcomes["told at the waiting room: all taken"] += 1
                return
            await asyncio.sleep(min(60.0, float(response_headers.get("Retry-After", 5))))
        self.admitted.append((time.perf_counter(), n))
        headers = {
            "X-Forwarded-For": address,
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items() if k.startswith("wr-pass")),
            "Authorization": basic(code),
        }
        for _attempt in range(3):
            answer = await call(
                session,
                self.recorder,
                "its offers",
                "GET",
                f"/its/{AGS}/rest/suche/impfterminsuche?plz={PLZ}",
                headers=headers,
            )
            if answer is None or answer[0] != 200:
                self.outcomes["search failed"] += 1
                return
            offers = json.loads(answer[2])["termine"]
            if not offers:
                self.outcomes["nothing free"] += 1
                return
            pair = random.choice(offers[:20])
            body = {"plz": PLZ, "slots": [s["slotId"] for s in pair], "contact": CONTACT}
            answer = await call(
                session,
                self.recorder,
                "its booking",
                "POST",
                f"/its/{AGS}/rest/buchung",
                headers={**headers, "Content-Type": "application/json"},
                data=json.dumps(body),
            )
            if answer is None:
                self.outcomes["booking timed out"] += 1
                return
            if answer[0] == 201:
                self.booked.append(time.perf_counter())
                self.outcomes["booked"] += 1
                await self.afterwards(session, n, code, address)
                return
            # BU004 (someone was faster) or WP011 (no longer offered): search again
        self.outcomes["lost three races"] += 1

    async def afterwards(self, session, n: int, code: str, address: str) -> None:
        """Some cancel, some move their pair, through a partner (the hotline's system)."""
        draw = random.random()
        key = self.world["keys"][n % len(self.world["keys"])]
        headers = {"X-API-Key": key, "X-Forwarded-For": address, "Content-Type": "application/json"}
        if draw < CANCEL_SHARE:
            answer = await call(
                session,
                self.recorder,
                "api cancel",
                "POST",
                "/api/v1/partner/bookings/cancel",
                headers=headers,
                data=json.dumps({"code": code}),
            )
            if answer is not None and answer[0] == 200:
                self.outcomes["cancelled"] += 1
        elif draw < CANCEL_SHARE + REBOOK_SHARE:
            answer = await call(
                session,
                self.recorder,
                "api pairs",
                "GET",
                f"/api/v1/partner/pairs?district={AGS}&vaccine=L920&limit=20",
                headers=headers,
            )
            if answer is None or answer[0] != 200 or not json.loads(answer[2]):
                return
            option = random.choice(json.loads(answer[2]))
            body = {
                "code": code,
                "first_slot": option["first_slot"],
                "second_slot": option["second_slot"],
            }
            answer = await call(
                session,
                self.recorder,
                "api rebook",
                "POST",
                "/api/v1/partner/bookings/rebook",
                headers=headers,
                data=json.dumps(body),
            )
            if answer is not None and answer[0] == 200:
                self.outcomes["rebooked"] += 1

    async def run(self) -> float:
        async with new_session() as session:
            started = time.perf_counter()
            arrivals = [started + ARRIVAL_SECONDS * n / CITIZENS for n in range(CITIZENS)]
            tasks = [
                asyncio.create_task(self.citizen(session, n, arrivals[n])) for n in range(CITIZENS)
            ]
            done, pending = await asyncio.wait(tasks, timeout=STORM_DEADLINE)
            for task in pending:
                task.cancel()
            self.outcomes["still waiting at the deadline"] += len(pending)
            for task in done:
                if task.exception() is not None:
                    self.outcomes[f"client error {type(task.exception()).__name__}"] += 1
            return time.perf_counter() - started


def fairness(admitted: list[tuple[float, int]]) -> dict:
    """Admission order against arrival order: the share of pairs of people let in the
    other way round (Kendall distance, 0 = strict first come first served) and the largest
    number of places anyone lost."""
    order = [n for _t, n in sorted(admitted)]
    ranks = {n: i for i, n in enumerate(sorted(order))}
    sequence = [ranks[n] for n in order]

    def inversions(values: list[int]) -> tuple[list[int], int]:
        if len(values) < 2:
            return values, 0
        middle = len(values) // 2
        left, a = inversions(values[:middle])
        right, b = inversions(values[middle:])
        merged, count, i, j = [], a + b, 0, 0
        while i < len(left) and j < len(right):
            if left[i] <= right[j]:
                merged.append(left[i])
                i += 1
            else:
                merged.append(right[j])
                count += len(left) - i
                j += 1
        return merged + left[i:] + right[j:], count

    n = len(sequence)
    _sorted, count = inversions(sequence)
    pairs = n * (n - 1) // 2 or 1
    lost = max((position - rank for position, rank in enumerate(sequence)), default=0)
    return {"kendall": count / pairs, "max_places_lost": lost, "admitted": n}


# --- checks ---------------------------------------------------------------------------------


def check_database() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM booking_slot WHERE booked > capacity")
        overbooked = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM booking_slot s WHERE s.booked <> (SELECT count(*) FROM"
            " booking_appointment a WHERE a.slot_id = s.id AND a.status = 'booked')"
        )
        mismatched = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT holder FROM booking_appointmentpair"
            " WHERE status = 'booked' GROUP BY holder HAVING count(*) > 1) t"
        )
        doubles = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM booking_appointmentpair WHERE status = 'booked'")
        live = cursor.fetchone()[0]
    return {"overbooked": overbooked, "mismatched": mismatched, "doubles": doubles, "live": live}


# --- report ---------------------------------------------------------------------------------


def latency_rows(recorder: Recorder, seconds: float) -> list[str]:
    rows = []
    for name in sorted(recorder.latencies):
        values = recorder.latencies[name]
        statuses = recorder.statuses[name]
        errors = sum(n for code, n in statuses.items() if code[0] == "5")
        rows.append(
            f"  {name:<22} {len(values):>7} {len(values) / seconds:>8.0f}/s"
            f" {percentile(values, 50) * 1000:>7.1f} {percentile(values, 95) * 1000:>7.1f}"
            f" {percentile(values, 99) * 1000:>7.1f} ms   5xx {errors}"
            f"   timeouts {recorder.timeouts.get(name, 0)}"
            f"   {dict(sorted(statuses.items()))}"
        )
    return rows


HEADER = "  endpoint                  requests     rate     p50     p95     p99"


def main() -> None:
    started = time.perf_counter()
    database_url = bench_database_url(suffix="_bench_http")
    env = server_environment(database_url)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impftermin.settings")
    recreate_database(database_url)
    flush_redis(env["REDIS_URL"])
    import django

    django.setup()
    world = build_world()
    from django.db import connections

    connections.close_all()
    setup_seconds = time.perf_counter() - started
    print(
        f"make bench-http: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB;"
        f" gunicorn {WORKERS} workers x {THREADS} threads (gthread), PostgreSQL, Redis;"
        f" the load generator (aiohttp) on the same cores; set-up {setup_seconds:.0f} s"
    )
    server = start_server(env)
    try:
        healthz, healthz_s = asyncio.run(
            closed_loop("healthz (baseline)", "/healthz", READ_SECONDS)
        )
        reads, reads_s = asyncio.run(
            closed_loop(
                "availability",
                f"/api/v1/availability?centre={world['centre']}&days=14",
                READ_SECONDS,
            )
        )
        print(f"\n1. Ceilings, {READ_CLIENTS} clients in a closed loop, {READ_SECONDS:.0f} s each")
        print(HEADER)
        for line in latency_rows(healthz, healthz_s) + latency_rows(reads, reads_s):
            print(line)
        read_rate = len(reads.latencies["availability"]) / reads_s
        base_rate = len(healthz.latencies["healthz (baseline)"]) / healthz_s
        print(
            f"  availability reads: {read_rate:.0f}/s = {read_rate / base_rate:.0%} of the stack's ceiling"
        )

        peak, peak_s = asyncio.run(open_loop(world, PEAK_SECONDS, OFFERED_RPS))
        print(
            f"\n2. Peak: {OFFERED_RPS} requests a second offered for {PEAK_SECONDS:.0f} s"
            f" (3x the 2021 portal's 700/s), open loop; served in {peak_s:.1f} s"
        )
        print(HEADER)
        for line in latency_rows(peak, peak_s):
            print(line)
        print(
            f"  served {peak.requests() / peak_s:.0f}/s; 5xx {peak.server_errors()},"
            f" timeouts {sum(peak.timeouts.values())}, broken connections"
            f" {sum(peak.broken.values())}"
        )

        open_waiting_room(world)
        storm = Storm(world)
        storm_s = asyncio.run(storm.run())
        django.db.connections.close_all()
        checked = check_database()
        fair = fairness(storm.admitted)
        booked_s = (max(storm.booked) - min(storm.booked)) if len(storm.booked) > 1 else 1.0
        print(
            f"\n3. Release storm: {CITIZENS} people arrive within {ARRIVAL_SECONDS:.0f} s for"
            f" {PAIRS} pairs; waiting room lets in {ADMISSIONS_PER_SECOND}/s; {storm_s:.0f} s"
        )
        print(HEADER)
        for line in latency_rows(storm.recorder, storm_s):
            print(line)
        print(f"  requests served            {storm.recorder.requests() / storm_s:.0f}/s")
        print(
            f"  bookings                   {len(storm.booked)} in {booked_s:.1f} s ="
            f" {len(storm.booked) / booked_s:.0f}/s"
        )
        print(f"  outcomes                   {dict(sorted(storm.outcomes.items()))}")
        print(
            f"  fairness                   {fair['admitted']} let in; Kendall distance"
            f" {fair['kendall']:.4f} (0 = first come first served; a person is let in when"
            f" they look again); at most {fair['max_places_lost']} places lost"
        )
        print(f"  live pairs afterwards      {checked['live']} (of {PAIRS} pairs of seats)")
        print(f"  HTTP 5xx                   {storm.recorder.server_errors()}")
        print(f"  timeouts                   {sum(storm.recorder.timeouts.values())}")
        print(f"  broken connections         {dict(storm.recorder.broken) or 0}")
        print(f"  overbooked slots           {checked['overbooked']}")
        print(f"  seat counts not adding up  {checked['mismatched']}")
        print(f"  double bookings            {checked['doubles']}")
        print(f"  server memory (PSS, end)   {server_memory_mib(server):.0f} MiB")
        tracebacks = SERVER_LOG.read_text(errors="replace").count("Traceback")
        print(f"  tracebacks in the server log {tracebacks} ({SERVER_LOG})")
        print(f"\n  whole run                  {time.perf_counter() - started:.0f} s")
        failed = (
            healthz.server_errors()
            + reads.server_errors()
            + peak.server_errors()
            + storm.recorder.server_errors()
            + sum(storm.recorder.broken.values())
            + sum(peak.broken.values())
            + checked["overbooked"]
            + checked["mismatched"]
            + checked["doubles"]
            + tracebacks
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if failed:
        sys.exit("make bench-http: server errors, overbookings or double bookings (see above)")


if __name__ == "__main__":
    main()
