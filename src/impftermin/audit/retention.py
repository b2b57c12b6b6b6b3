"""The audit log's retention (issue 10): entries older than RETENTION_AUDIT_DAYS are
deleted — the one way an entry ever goes.

The application cannot do it, by design: the table is append-only for every client (the
model refuses, and on PostgreSQL a trigger refuses UPDATE and DELETE, migration 0002).
This job connects as the table's owner, a database role apart from the application's, and
lifts the trigger for its own transaction only: the DDL is transactional, and its lock
keeps every other writer waiting until the trigger is back. Run it nightly from the
platform's scheduler with that role's URL (docs/production.md).
"""

from __future__ import annotations

import datetime as dt

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

TABLE = "audit_auditentry"
TRIGGER = "audit_auditentry_append_only"
MINIMUM_DAYS = 365  # a mistyped setting must not empty the log
BATCH = 10_000


def audit_entries_expire(*, owner_database_url: str, now: dt.datetime | None = None) -> int:
    """Delete the entries older than the retention period as the table's owner, 10,000 a
    transaction; how many. Fails (psycopg's error; the batch rolled back, the trigger on)
    for a role that does not own the table."""
    if settings.RETENTION_AUDIT_DAYS < MINIMUM_DAYS:
        raise ImproperlyConfigured(f"RETENTION_AUDIT_DAYS is at least {MINIMUM_DAYS}.")
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.RETENTION_AUDIT_DAYS)
    deleted, last = 0, 0
    with psycopg.connect(owner_database_url, connect_timeout=10, autocommit=True) as connection:
        while True:
            with connection.transaction():
                # the trigger is off only inside this short transaction, whose lock keeps
                # staff's new entries waiting: never for long, else try the next night
                connection.execute("SET LOCAL lock_timeout = '5s'")
                connection.execute("SET LOCAL statement_timeout = '20s'")
                connection.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
                ids = connection.execute(
                    f"DELETE FROM {TABLE} WHERE id IN (SELECT id FROM {TABLE}"  # noqa: S608 - fixed names
                    " WHERE at < %s AND id > %s ORDER BY id LIMIT %s) RETURNING id",
                    [cutoff, last, BATCH],
                ).fetchall()
                connection.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
            deleted += len(ids)
            if len(ids) < BATCH:
                return deleted
            last = max(pk for (pk,) in ids)  # on from there: no rescan of what is gone
