"""make bench, part 2: the assignment engine (issue 5, R16) against PostgreSQL.

REGISTRATIONS waiting registrations at CENTRES centres get pairs for as many first-dose
seats (and as many second-dose seats 21 days later) through `registrations_assign`, the
task the scheduler runs. Baseline, measured in the same run: BASELINE registrations
assigned one at a time the way a person books (search the earliest pair, `pair_book`).
Printed: registrations per second, the peak memory of the process, and the invariants.

Then the letters (R17): LETTERS of the assigned registrations without e-mail get a letter,
and the day's print batch is rendered twice, each time in a fresh child process and rolled
back: in parts of `letters.BATCH_PART` (what the daily job does) and, as the baseline, in
one render. Printed: seconds per letter and how much the child's memory grew.

Runs in a scratch database `<name>_bench_assign` that is dropped and re-created.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import time
from urllib.parse import urlparse, urlunparse

REGISTRATIONS = int(os.environ.get("BENCH_REGISTRATIONS", 100_000))
LETTERS = int(os.environ.get("BENCH_LETTERS", 600))
BASELINE = int(os.environ.get("BENCH_ASSIGN_BASELINE", 2_000))
BATCH = int(os.environ.get("BENCH_ASSIGN_BATCH", 0)) or None  # default: the task's
CENTRES = 10
SEATS_PER_SLOT = 10
SLOTS_PER_DAY = 50  # 08:00 to 20:30 every 15 minutes


def scratch_url() -> str:
    url = urlparse(
        os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/impftermin"
    )
    if not url.scheme.startswith("postgres"):
        sys.exit("make bench needs PostgreSQL: DATABASE_URL=postgres://…")
    return urlunparse(url._replace(path=url.path.rstrip("/") + "_bench_assign"))


BENCH_URL = scratch_url()
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impftermin.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["DEBUG"] = "false"


def recreate_database() -> None:
    import psycopg

    parsed = urlparse(BENCH_URL)
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.path.lstrip("/")}"')


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(region, vaccine, n_centres: int, seats: int, prefix: str) -> list:
    """`n_centres` centres with `seats` first-dose seats in all (and as many second-dose
    seats 21 days later), and `seats` waiting registrations spread over them."""
    from django.utils import timezone

    from impftermin.booking.models import Slot
    from impftermin.booking.selectors import day_start
    from impftermin.centres.models import Centre
    from impftermin.regions.models import District
    from impftermin.registrations.models import Registration

    centres = []
    for n in range(n_centres):
        district = District.objects.create(
            ags=f"{90000 + 100 * (prefix == 'BL') + n:05d}",
            name=f"Kreis {prefix}{n}",
            kind="kreis",
            population=1,
            region=region,
        )
        centres.append(
            Centre.objects.create(
                district=district, name=f"IZ {prefix}{n}", street="-", postcode="99999", city="-"
            )
        )
    per_centre_slots = seats // n_centres // SEATS_PER_SLOT
    today = timezone.localdate()
    slots = []
    for centre in centres:
        for i in range(per_centre_slots):
            day = today + dt.timedelta(days=1 + i // SLOTS_PER_DAY)
            start = day_start(day) + dt.timedelta(hours=8, minutes=15 * (i % SLOTS_PER_DAY))
            slots.append(
                Slot(
                    centre=centre,
                    vaccine=vaccine,
                    start=start,
                    capacity=SEATS_PER_SLOT,
                    released=True,
                )
            )
            slots.append(
                Slot(
                    centre=centre,
                    vaccine=vaccine,
                    start=start + dt.timedelta(days=21),
                    capacity=SEATS_PER_SLOT,
                    released=False,
                )
            )
    Slot.objects.bulk_create(slots, batch_size=5000)
    people = [
        Registration(
            vorgangskennung=f"{prefix}{n:09d}"[:12],
            region=region,
            district_id=centres[n % n_centres].district_id,
            centre=centres[n % n_centres],
            vaccine=vaccine,
            first_name="B",
            last_name=str(n),
            birth_date=dt.date(1950, 1, 1),
            street="-",
            postcode="99999",
            city="-",
            residence="first",
            channel="online",
            identity_key=f"{prefix}-{n}",
            email="" if n % 2 else "bench@example.org",
        )
        for n in range(seats)
    ]
    Registration.objects.bulk_create(people, batch_size=5000)
    return centres


def baseline(region) -> tuple[float, int]:
    """One registration at a time, as a person books: earliest pair, then pair_book."""
    from django.utils import timezone

    from impftermin.booking.selectors import free_pair_options
    from impftermin.booking.services import pair_book
    from impftermin.registrations.models import Registration

    people = list(
        Registration.objects.filter(vorgangskennung__startswith="BL").select_related("centre")
    )
    today = timezone.localdate()
    booked = 0
    started = time.perf_counter()
    for person in people:
        options = free_pair_options(
            district_id=person.centre.district_id,
            vaccine_id=person.vaccine_id,
            date_from=today,
            date_to=today + dt.timedelta(days=region.release_days_ahead),
            limit=1,
        )
        if (
            options
            and pair_book(
                holder=person.holder,
                district_id=person.centre.district_id,
                first_slot_id=options[0].first_slot_id,
                second_slot_id=options[0].second_slot_id,
            ).booked
        ):
            booked += 1
    return time.perf_counter() - started, booked


def check() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FILTER (WHERE s.booked > s.capacity),
                      count(*) FILTER (WHERE s.booked <> coalesce(a.n, 0))
               FROM booking_slot s LEFT JOIN (
                   SELECT a.slot_id, count(*) n FROM booking_appointment a
                   JOIN booking_appointmentpair p ON p.id = a.pair_id
                   WHERE p.status = 'booked' GROUP BY a.slot_id) a ON a.slot_id = s.id"""
        )
        overbooked, mismatch = cursor.fetchone()
    return {"overbooked": overbooked, "count_mismatch": mismatch}


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _print_batch_child(part: int, pipe) -> None:
    """In a forked child: the day's print batch rendered in parts of `part`, rolled back."""
    from django.db import connections, transaction

    from impftermin.registrations import letters

    letters.BATCH_PART = part
    at_start = _rss_mib()
    with transaction.atomic():
        started = time.perf_counter()
        batch = letters.print_batch_make()
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    pipe.send((batch.letter_count, seconds, peak_mib() - at_start, len(batch.pdf)))
    connections.close_all()


def letters_bench() -> None:
    import multiprocessing

    from django.db import connections

    from impftermin.registrations.letters import BATCH_PART, letters_issue
    from impftermin.registrations.models import LetterReason, Registration, RegistrationStatus

    ids = list(
        Registration.objects.filter(status=RegistrationStatus.ASSIGNED, email="")
        .order_by("pk")
        .values_list("pk", flat=True)[:LETTERS]
    )
    issued = letters_issue(registration_ids=ids, reason=LetterReason.ASSIGNED)
    print()
    print(
        f"Letters: the day's print batch of {issued:,} letters (R17), each way in a fresh process"
    )
    print(
        f"| {'path':<30} | {'letters':>7} | {'seconds':>8} | {'ms/letter':>9} | {'memory growth MiB':>17} | {'PDF MiB':>7} |"
    )
    print(f"|{'-' * 32}|{'-' * 9}|{'-' * 10}|{'-' * 11}|{'-' * 19}|{'-' * 9}|")
    fork = multiprocessing.get_context("fork")
    for label, part in (
        ("one render (baseline)", 10**9),
        (f"parts of {BATCH_PART} (the job)", BATCH_PART),
    ):
        connections.close_all()  # the child opens its own
        ours, theirs = fork.Pipe()
        child = fork.Process(target=_print_batch_child, args=(part, theirs))
        child.start()
        count, seconds, growth, size = ours.recv()
        child.join()
        print(
            f"| {label:<30} | {count:>7,} | {seconds:>8.1f} | {1000 * seconds / count:>9.0f} | {growth:>17.0f} | {size / 2**20:>7.1f} |"
        )


def main() -> None:
    print(
        f"Impftermin assignment benchmark — PostgreSQL scratch database {urlparse(BENCH_URL).path.lstrip('/')}"
    )
    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from tests.factories import VACCINES

    from impftermin.regions.models import Region
    from impftermin.registrations.models import Registration, RegistrationStatus
    from impftermin.registrations.services import ASSIGN_BATCH, registrations_assign
    from impftermin.vaccines.models import Vaccine

    call_command("migrate", verbosity=0)
    vaccine = Vaccine.objects.create(code="L920", **VACCINES["L920"])
    region = Region.objects.create(
        slug="bench",
        name="Bench",
        booking_mode="assignment",
        bundesland="HE",
        release_days_ahead=28,
    )
    started = time.perf_counter()
    build(region, vaccine, 1, BASELINE, "BL")
    build(region, vaccine, CENTRES, REGISTRATIONS, "AS")
    print(
        f"  set-up: {REGISTRATIONS:,} registrations and {REGISTRATIONS:,} + {REGISTRATIONS:,} seats at {CENTRES} centres, and {BASELINE:,} for the baseline, in {time.perf_counter() - started:.0f} s"
    )

    base_seconds, base_booked = baseline(region)
    memory_before = peak_mib()
    started = time.perf_counter()
    batch = BATCH or ASSIGN_BATCH
    assigned = registrations_assign(region_id=region.pk, batch_size=batch)
    seconds = time.perf_counter() - started
    invariants = check()
    waiting = Registration.objects.filter(
        status=RegistrationStatus.WAITING, vorgangskennung__startswith="AS"
    ).count()

    print()
    print(
        f"Assignment: {REGISTRATIONS:,} waiting registrations, {REGISTRATIONS:,} first-dose seats"
    )
    print(f"| {'path':<42} | {'registrations':>13} | {'seconds':>8} | {'registrations/s':>15} |")
    print(f"|{'-' * 44}|{'-' * 15}|{'-' * 10}|{'-' * 17}|")
    print(
        f"| {'one at a time: search + pair_book (baseline)':<42} | {base_booked:>13,} | {base_seconds:>8.1f} | {base_booked / base_seconds:>15.0f} |"
    )
    print(
        f"| {'assignment engine (registrations_assign)':<42} | {assigned:>13,} | {seconds:>8.1f} | {assigned / seconds:>15.0f} |"
    )
    print(f"batches of {batch:,} registrations (one transaction each)")
    print(f"speed-up over the baseline: {(assigned / seconds) / (base_booked / base_seconds):.1f}x")
    print(
        f"peak memory of the process: {peak_mib():.0f} MiB (before the assignment: {memory_before:.0f} MiB)"
    )
    print(f"invariants: {invariants} (all must be 0); still waiting: {waiting}")
    if invariants["overbooked"] or invariants["count_mismatch"]:
        sys.exit("INVARIANT BROKEN")
    if assigned != REGISTRATIONS:
        sys.exit(f"expected all {REGISTRATIONS} registrations to be assigned, got {assigned}")
    if LETTERS:
        letters_bench()


if __name__ == "__main__":
    main()
