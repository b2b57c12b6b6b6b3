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
from django.utils import timezone

TABLE = "audit_auditentry"
TRIGGER = "audit_auditentry_append_only"


def audit_entries_expire(*, owner_database_url: str, now: dt.datetime | None = None) -> int:
    """Delete the entries older than the retention period as the table's owner; how many.
    Fails (psycopg's error, nothing deleted) for a role that does not own the table."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.RETENTION_AUDIT_DAYS)
    with (
        psycopg.connect(owner_database_url, connect_timeout=10) as connection,
        connection.transaction(),
    ):
        # never stand in the staff's way for long: try again the next night instead
        connection.execute("SET LOCAL lock_timeout = '5s'")
        connection.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        deleted = connection.execute(f"DELETE FROM {TABLE} WHERE at < %s", [cutoff]).rowcount  # noqa: S608 - fixed names
        connection.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
    return deleted
