"""What the benchmarks share: their scratch databases, today, percentiles."""

from __future__ import annotations

import datetime as dt
import os
import sys
from urllib.parse import urlparse, urlunparse


def bench_database_url(suffix: str = "_bench") -> str:
    url = urlparse(
        os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/impftermin"
    )
    if not url.scheme.startswith("postgres"):
        sys.exit("make bench needs PostgreSQL: DATABASE_URL=postgres://…")
    return urlunparse(url._replace(path=url.path.rstrip("/") + suffix))


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def local_today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
