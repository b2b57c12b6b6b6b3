"""make bench: the booking engine under a storm, against PostgreSQL.

1. Booking storm: CLIENTS concurrent clients (processes x threads, one database
   connection each) make ATTEMPTS pair-booking attempts for SEATS seats through
   `pair_book`. A client picks among the earliest free pairs, as people do; after a lost
   race it takes one of the options the service offers (R11).
2. Ceiling, measured in the same run: the SQL statements of one pair booking, captured
   from the service, replayed directly with psycopg at the same concurrency.
3. Free-slot search latency for a region with 30 centres, 4 vaccines and 90 days of
   5-minute slots.

Everything runs in a scratch database `<name>_bench` that is dropped and re-created.
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import random
import re
import resource
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 100))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", 4))
ATTEMPTS = int(os.environ.get("BENCH_ATTEMPTS", 10_000))
SEATS = int(os.environ.get("BENCH_SEATS", 2_000))
SEATS_PER_SLOT = 10
SEARCH_CENTRES = 30
SEARCH_DAYS = int(os.environ.get("BENCH_SEARCH_DAYS", 90))
SEARCHES = int(os.environ.get("BENCH_SEARCHES", 300))
EARLIEST_CHOICES = 20  # people pick among the earliest offers


from bench.common import bench_database_url, local_today, percentile, recreate_database  # noqa: E402

BENCH_URL = bench_database_url()
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impftermin.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["DEBUG"] = "false"  # no query log: measure what production runs


def setup_django() -> None:
    import django

    django.setup()


# --- data -------------------------------------------------------------------------------


@dataclass
class StormWorld:
    district_id: int
    options: list[tuple[int, int]]  # (first slot, second slot) pairs, earliest first


def build_storm_world() -> StormWorld:
    """One district and centre; SEATS first-dose seats and as many second-dose seats."""
    from django.db import connection

    from impftermin.booking.models import Slot
    from impftermin.booking.selectors import day_start
    from impftermin.centres.models import Centre
    from impftermin.regions.models import District, Region
    from impftermin.vaccines.models import Vaccine

    region = Region.objects.create(
        slug="storm", name="Storm", booking_mode="codes", bundesland="NW"
    )
    district = District.objects.create(
        ags="99001", name="Storm", kind="kreis", population=1, region=region
    )
    centre = Centre.objects.create(
        district=district, name="Storm IZ", street="-", postcode="99999", city="-"
    )
    vaccine = Vaccine.objects.get(code="L920")
    # Slot ids well above anything else in a parameter list, so that the ceiling can map
    # the captured statements' ids to new ones by value (see capture_statements).
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('booking_slot', 'id'), 50000000)")
    day = local_today() + dt.timedelta(days=2)
    n_slots = SEATS // SEATS_PER_SLOT
    firsts = [
        Slot(
            centre=centre,
            vaccine=vaccine,
            start=day_start(day) + dt.timedelta(hours=8, minutes=5 * i),
            capacity=SEATS_PER_SLOT,
            released=True,
        )
        for i in range(n_slots)
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
    Slot.objects.bulk_create(
        firsts
        + seconds
        + [
            # spare slots for capturing the ceiling's statements
            Slot(
                centre=centre,
                vaccine=vaccine,
                start=day_start(day) + dt.timedelta(hours=7),
                capacity=1,
                released=True,
            ),
            Slot(
                centre=centre,
                vaccine=vaccine,
                start=day_start(day) + dt.timedelta(days=21, hours=7),
                capacity=1,
            ),
        ]
    )
    return StormWorld(district.pk, [(f.pk, s.pk) for f, s in zip(firsts, seconds, strict=True)])


def build_search_world() -> list[tuple[int, int]]:
    """A region of 30 districts with one centre each, 4 vaccines, SEARCH_DAYS days of
    5-minute slots from 08:00 to 20:00, written with COPY; early days mostly booked."""
    from django.db import connection

    from impftermin.booking.selectors import day_start
    from impftermin.centres.models import Centre
    from impftermin.regions.models import District, Region
    from impftermin.vaccines.models import Vaccine

    region = Region.objects.create(
        slug="search",
        name="Search",
        booking_mode="codes",
        bundesland="NW",
        release_days_ahead=SEARCH_DAYS,
    )
    vaccines = list(Vaccine.objects.order_by("code"))
    centres = []
    for i in range(SEARCH_CENTRES):
        district = District.objects.create(
            ags=f"98{i:03d}", name=f"Search {i}", kind="kreis", population=100_000, region=region
        )
        centres.append(
            Centre.objects.create(
                district=district, name=f"IZ {i}", street="-", postcode="98000", city="-"
            )
        )
    rng = random.Random(7)
    today = local_today() + dt.timedelta(days=1)
    buffer = io.StringIO()
    rows = 0
    for centre in centres:
        for d in range(SEARCH_DAYS):
            base = day_start(today + dt.timedelta(days=d)) + dt.timedelta(hours=8)
            fullness = max(0.0, 0.95 - d / 30)  # the first weeks are nearly booked out
            for vaccine in vaccines:
                for k in range(144):
                    start = base + dt.timedelta(minutes=5 * k)
                    booked = 4 if rng.random() < fullness else rng.randint(0, 3)
                    buffer.write(
                        f"{centre.pk}\t{vaccine.pk}\t{start.isoformat()}\t4\t{booked}\tt\n"
                    )
                    rows += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY booking_slot (centre_id, vaccine_id, start, capacity, booked, released) FROM STDIN"
        ) as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        cursor.execute("ANALYZE booking_slot")
    print(
        f"  search world: {rows:,} slots in {SEARCH_CENTRES} centres, {len(vaccines)} vaccines, {SEARCH_DAYS} days"
    )
    return [(c.district_id, v.pk) for c in centres for v in vaccines]


# --- capturing the service's statements for the ceiling ----------------------------------


@dataclass
class Captured:
    won: list[tuple[str, tuple]]  # statements of a booking that got its seats
    lost: list[tuple[str, tuple]]  # statements of a booking whose first seat was gone
    lost_reads_from: int  # where, after the rollback, the losing path reads the next options
    first_id: int
    second_id: int
    holder: str
    pair_id: int
    at: dt.datetime


def capture_statements(world: StormWorld) -> Captured:
    from django.db import connection
    from django.utils import timezone

    from impftermin.booking.models import Slot
    from impftermin.booking.services import pair_book

    first, second = (
        Slot.objects.filter(start__hour__in=[6, 7]).order_by("start").values_list("id", flat=True)
    )
    statements: list[tuple[str, tuple]] = []

    def record(execute, sql, params, many, context):
        # one savepoint name for both paths, so that the losing path can follow the winning one
        statements.append((re.sub(r'"s\d+_x\d+"', '"bench_sp"', sql), tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('booking_appointmentpair', 'id'), 70000000)"
        )
    at = timezone.now()
    with connection.execute_wrapper(record):
        result = pair_book(
            holder="bench-template",
            district_id=world.district_id,
            first_slot_id=first,
            second_slot_id=second,
        )
    won = list(statements)
    statements.clear()
    with connection.execute_wrapper(record):  # the slot is now full: the losing path
        pair_book(
            holder="bench-template-2",
            district_id=world.district_id,
            first_slot_id=first,
            second_slot_id=second,
        )
    lost = list(statements)
    # the losing path reads the next options after the slot load (a full slot) or after a
    # claim that found no room (a race lost at the UPDATE)
    last_write = max(
        [0] + [i for i, (sql, _) in enumerate(lost) if sql.startswith('UPDATE "booking_slot"')]
    )
    return Captured(
        won, lost, last_write + 1, first, second, "bench-template", result.pairs[0].pk, at
    )


# --- the clients ------------------------------------------------------------------------


def service_client(world: StormWorld, client: int, attempts: int, out: list) -> None:
    from django.db import connection

    from impftermin.booking.services import pair_book

    rng = random.Random(client)
    person = 0
    choice = rng.choice(world.options[:EARLIEST_CHOICES])
    try:
        for _ in range(attempts):
            started = time.perf_counter()
            result = pair_book(
                holder=f"bench:{client}:{person}",
                district_id=world.district_id,
                first_slot_id=choice[0],
                second_slot_id=choice[1],
            )
            out.append((time.perf_counter() - started, result.booked, time.perf_counter()))
            if result.booked:
                person += 1
                choice = rng.choice(world.options[:EARLIEST_CHOICES])
            elif result.alternatives:
                option = rng.choice(result.alternatives[:5])
                choice = (option.first_slot_id, option.second_slot_id)
            else:
                choice = rng.choice(world.options)  # sold out: people keep trying anyway
    finally:
        connection.close()


class Replay:
    """Maps a captured statement's parameters to this attempt's: slot ids, holder and pair
    id by value (they are kept far apart from other numbers), and "now" to now."""

    def __init__(self, mapping: dict, captured_at: dt.datetime, now: dt.datetime):
        self.mapping = mapping
        self.captured_at = captured_at
        self.now = now

    def value(self, p):
        if isinstance(p, list):
            return [self.value(v) for v in p]
        if isinstance(p, dt.datetime) and abs((p - self.captured_at).total_seconds()) < 60:
            return self.now
        if isinstance(p, int | str) and not isinstance(p, bool) and p in self.mapping:
            return self.mapping[p]
        return p

    def params(self, params: tuple) -> list:
        return [self.value(p) for p in params]


def ceiling_client(
    world: StormWorld, captured: Captured, client: int, attempts: int, out: list
) -> None:
    """Replay the captured statements with psycopg: the database's cost of the same work."""
    import psycopg
    from django.utils import timezone

    rng = random.Random(client)
    person = 0
    choice = rng.choice(world.options[:EARLIEST_CHOICES])
    with psycopg.connect(BENCH_URL, autocommit=False, prepare_threshold=None) as conn:
        for _ in range(attempts):
            started = time.perf_counter()
            holder = f"ceiling:{client}:{person}"
            mapping = {
                captured.first_id: choice[0],
                captured.second_id: choice[1],
                captured.holder: holder,
            }
            replay = Replay(mapping, captured.at, timezone.now())
            booked = True
            alternatives: list[tuple[int, int]] = []
            with conn.cursor() as cur:
                statements = captured.won
                i = 0
                while i < len(statements):
                    sql, params = statements[i]
                    cur.execute(sql, replay.params(params))
                    upper = sql.lstrip().upper()
                    lost = upper.startswith('UPDATE "BOOKING_SLOT"') and cur.rowcount == 0
                    if i == 0:  # the slot load: a visibly full slot ends here, as in the service
                        loaded = {row[0]: row for row in cur.fetchall()}
                        lost = any(loaded[slot_id][5] >= loaded[slot_id][4] for slot_id in choice)
                    if lost:
                        # lost the race: roll back and read the next options, as the service does
                        booked = False
                        conn.rollback()
                        for lsql, lparams in captured.lost[captured.lost_reads_from :]:
                            cur.execute(lsql, replay.params(lparams))
                            if "second_id" in lsql:
                                alternatives = [(r[0], r[3]) for r in cur.fetchall()]
                        break
                    if upper.startswith('INSERT INTO "BOOKING_APPOINTMENTPAIR"'):
                        replay.mapping[captured.pair_id] = cur.fetchone()[0]
                    i += 1
            conn.commit()
            out.append((time.perf_counter() - started, booked, time.perf_counter()))
            if booked:
                person += 1
                choice = rng.choice(world.options[:EARLIEST_CHOICES])
            elif alternatives:
                choice = rng.choice(alternatives[:5])
            else:
                choice = rng.choice(world.options)


def run_process(
    kind: str, world, captured, first_client: int, threads: int, attempts_each: int, queue
) -> None:
    from django.db import connections

    connections.close_all()  # never share the parent's connection after fork
    results: list[list] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def target(i: int) -> None:
        barrier.wait()
        if kind == "service":
            service_client(world, first_client + i, attempts_each, results[i])
        else:
            ceiling_client(world, captured, first_client + i, attempts_each, results[i])

    workers = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put([r for rs in results for r in rs])


def storm(kind: str, world: StormWorld, captured: Captured | None) -> dict:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    threads = CLIENTS // PROCESSES
    attempts_each = ATTEMPTS // CLIENTS
    processes = [
        context.Process(
            target=run_process,
            args=(kind, world, captured, p * threads, threads, attempts_each, queue),
        )
        for p in range(PROCESSES)
    ]
    started = time.perf_counter()
    for p in processes:
        p.start()
    results = [r for _ in processes for r in queue.get()]
    for p in processes:
        p.join()
    elapsed = time.perf_counter() - started
    wins = [r[2] for r in results if r[1]]
    sold_out = (max(wins) - started) if wins else elapsed
    latencies = [r[0] * 1000 for r in results]
    booked = sum(1 for r in results if r[1])
    return {
        "attempts": len(results),
        "booked": booked,
        "seconds": elapsed,
        "attempts_per_s": len(results) / elapsed,
        "booked_per_s": booked / sold_out,  # until the last seat was gone
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
    }


def reset_storm(world: StormWorld) -> None:
    from impftermin.booking.models import Appointment, AppointmentPair, Slot

    ids = [i for pair in world.options for i in pair]
    Appointment.objects.filter(slot_id__in=ids).delete()
    AppointmentPair.objects.filter(holder__startswith="bench:").delete()
    AppointmentPair.objects.filter(holder__startswith="ceiling:").delete()
    Slot.objects.filter(pk__in=ids).update(booked=0)


def check_storm(world: StormWorld) -> dict:
    from django.db.models import Count, F, Q

    from impftermin.booking.models import SEAT_HOLDING_STATUSES, AppointmentPair, Slot

    slots = Slot.objects.filter(pk__in=[i for pair in world.options for i in pair])
    overbooked = slots.filter(booked__gt=F("capacity")).count()
    mismatched = (
        slots.annotate(
            holding=Count("appointments", filter=Q(appointments__status__in=SEAT_HOLDING_STATUSES))
        )
        .exclude(booked=F("holding"))
        .count()
    )
    doubles = (
        AppointmentPair.objects.filter(status="booked")
        .values("holder")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return {"overbooked": overbooked, "count_mismatch": mismatched, "double_pairs": doubles}


def search_latency(targets: list[tuple[int, int]]) -> dict:
    from impftermin.booking.selectors import free_pair_options

    rng = random.Random(11)
    today = local_today()
    latencies = []
    found = 0
    for _ in range(SEARCHES):
        district_id, vaccine_id = rng.choice(targets)
        start = today + dt.timedelta(days=rng.randint(0, 30))
        began = time.perf_counter()
        options = free_pair_options(
            district_id=district_id,
            vaccine_id=vaccine_id,
            date_from=start,
            date_to=start + dt.timedelta(days=14),
            limit=20,
        )
        latencies.append((time.perf_counter() - began) * 1000)
        found += bool(options)
    return {
        "searches": SEARCHES,
        "with_results": found,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
    }


def main() -> None:
    print(
        f"Impftermin booking benchmark — PostgreSQL scratch database {urlparse(BENCH_URL).path.lstrip('/')}"
    )
    print(
        f"machine: {os.cpu_count()} cores; clients {CLIENTS} ({PROCESSES} processes x {CLIENTS // PROCESSES} threads)"
    )
    recreate_database(BENCH_URL)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.factories import VACCINES

    from impftermin.vaccines.models import Vaccine

    for code, fields in VACCINES.items():
        Vaccine.objects.create(code=code, **fields)

    world = build_storm_world()
    captured = capture_statements(world)
    print(
        f"  storm world: {len(world.options)} first-dose slots x {SEATS_PER_SLOT} seats = {SEATS} seats"
    )
    print(
        f"  one pair booking = {len(captured.won)} SQL statements (+ BEGIN/COMMIT); a lost race = {len(captured.lost)}"
    )

    service = storm("service", world, None)
    service_check = check_storm(world)
    reset_storm(world)
    ceiling = storm("ceiling", world, captured)
    ceiling_check = check_storm(world)

    targets = build_search_world()
    search = search_latency(targets)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print()
    print(
        f"Booking storm: {ATTEMPTS:,} pair-booking attempts by {CLIENTS} concurrent clients for {SEATS:,} seats"
    )
    print(
        f"| {'path':<26} | {'attempts/s':>10} | {'pairs booked':>12} | {'pairs/s until sold out':>22} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} | {'overbooked':>10} |"
    )
    print(f"|{'-' * 28}|{'-' * 12}|{'-' * 14}|{'-' * 24}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 12}|")
    for name, r, c in (
        ("booking service (Django)", service, service_check),
        ("ceiling (same SQL, psycopg)", ceiling, ceiling_check),
    ):
        print(
            f"| {name:<26} | {r['attempts_per_s']:>10.0f} | {r['booked']:>12,} | {r['booked_per_s']:>22.0f} | {r['p50']:>7.1f} | {r['p95']:>7.1f} | {r['p99']:>7.1f} | {c['overbooked']:>10} |"
        )
    print(
        f"service/ceiling ratio (attempts per second): {service['attempts_per_s'] / ceiling['attempts_per_s']:.2f}"
    )
    print(f"invariants after the service storm: {service_check} (all must be 0)")
    print()
    print(
        f"Free-slot search: {search['searches']} searches (14-day range, 20 pairs) in a region of {SEARCH_CENTRES} centres, 4 vaccines, {SEARCH_DAYS} days of 5-minute slots"
    )
    print("| p50 ms | p95 ms | p99 ms | searches with results |")
    print(
        f"| {search['p50']:>6.1f} | {search['p95']:>6.1f} | {search['p99']:>6.1f} | {search['with_results']:>21} |"
    )
    print(f"peak memory of the benchmark's main process: {peak_mb:.0f} MiB")
    if (
        service_check["overbooked"]
        or service_check["count_mismatch"]
        or service_check["double_pairs"]
    ):
        sys.exit("INVARIANT BROKEN")
    if service["booked"] != SEATS:
        sys.exit(f"expected every one of the {SEATS} seats to be booked, got {service['booked']}")


if __name__ == "__main__":
    main()
