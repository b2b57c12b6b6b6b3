"""Issue 10, item 6: the audit log is kept longer than the data it protects
(RETENTION_AUDIT_DAYS) and then deleted — only by the table's owner, a database role apart
from the application's, which lifts the append-only trigger for its own transaction. The
test makes both roles real: the application's role (with every table privilege, even
DELETE) can neither delete entries nor lift the trigger; the owner deletes exactly the
expired ones, and the trigger is back afterwards."""

from __future__ import annotations

import datetime as dt
import io
import secrets

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from impftermin.audit.models import AuditEntry
from impftermin.audit.retention import audit_entries_expire
from tests.audit.helpers import staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def role_url(role: str) -> str:
    settings = connection.settings_dict
    return (
        f"postgres://{role}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
        f"/{settings['NAME']}"
    )


@pytest.fixture
def roles():
    """Two login roles for this test: the table's owner and an application role with all
    privileges on the table but not its ownership. Dropped afterwards."""
    suffix = secrets.token_hex(4)
    owner, app = f"impftermin_audit_owner_{suffix}", f"impftermin_app_{suffix}"
    us = connection.settings_dict["USER"]
    try:
        with connection.cursor() as cursor:
            for role in (owner, app):
                cursor.execute(f"CREATE ROLE {role} LOGIN")
                cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
                cursor.execute(f"GRANT ALL ON audit_auditentry TO {role}")
            cursor.execute(f"ALTER TABLE audit_auditentry OWNER TO {owner}")
        yield owner, app
    finally:  # roles are the server's, not the test database's: never leave one behind
        with connection.cursor() as cursor:
            for role in (owner, app):
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                if cursor.fetchone():
                    cursor.execute(f"REASSIGN OWNED BY {role} TO {us}")
                    cursor.execute(f"DROP OWNED BY {role}")
                    cursor.execute(f"DROP ROLE {role}")


def entries(user, *ages_in_days: int) -> list[int]:
    """Entries written that many days ago (INSERT is allowed; `at` as of then)."""
    ids = []
    with connection.cursor() as cursor:
        for days in ages_in_days:
            cursor.execute(
                "INSERT INTO audit_auditentry (user_id, username, at, action, what, which, why,"
                " detail) VALUES (%s, %s, %s, 'view', 'registration', '1', '', '')"
                " RETURNING id",
                [user.pk, user.username, timezone.now() - dt.timedelta(days=days)],
            )
            ids.append(cursor.fetchone()[0])
    return ids


def test_item6_the_owner_deletes_only_expired_entries_and_the_trigger_is_back(roles, settings):
    owner, _app = roles
    settings.RETENTION_AUDIT_DAYS = 730
    expired, kept_old, recent = entries(staff("agent"), 731, 729, 0)
    assert audit_entries_expire(owner_database_url=role_url(owner)) == 1
    assert set(AuditEntry.objects.values_list("pk", flat=True)) == {kept_old, recent}
    assert expired not in AuditEntry.objects.values_list("pk", flat=True)
    # the trigger is on again, for the owner too
    with psycopg.connect(role_url(owner)) as as_owner, pytest.raises(psycopg.Error):
        as_owner.execute("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.count() == 2


def test_item6_the_applications_role_cannot_delete_entries_nor_lift_the_trigger(roles):
    _owner, app = roles
    entries(staff("agent"), 800)
    with psycopg.connect(role_url(app), autocommit=True) as as_app:
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            as_app.execute("DELETE FROM audit_auditentry")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="owner"):
            as_app.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER ALL")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        audit_entries_expire(owner_database_url=role_url(app))
    assert AuditEntry.objects.count() == 1  # nothing deleted


def test_item6_the_command_needs_the_owners_url_and_reports_what_it_deleted(roles, monkeypatch):
    owner, _app = roles
    entries(staff("agent"), 1000, 1)
    monkeypatch.delenv("AUDIT_OWNER_DATABASE_URL", raising=False)
    with pytest.raises(CommandError, match="AUDIT_OWNER_DATABASE_URL"):
        call_command("expire_audit_log", owner_database_url="")
    out = io.StringIO()
    call_command("expire_audit_log", owner_database_url=role_url(owner), stdout=out)
    assert "1 entries" in out.getvalue()
    assert AuditEntry.objects.count() == 1


def test_item6_a_retention_shorter_than_a_year_is_refused_and_nothing_deleted(roles, settings):
    owner, _app = roles
    entries(staff("agent"), 100)
    settings.RETENTION_AUDIT_DAYS = 0  # a mistyped setting must not empty the log
    with pytest.raises(ImproperlyConfigured, match="RETENTION_AUDIT_DAYS"):
        audit_entries_expire(owner_database_url=role_url(owner))
    assert AuditEntry.objects.count() == 1


def test_item6_many_expired_entries_go_in_batches(roles, settings, monkeypatch):
    owner, _app = roles
    monkeypatch.setattr("impftermin.audit.retention.BATCH", 3)
    entries(staff("agent"), *([800] * 7), 1)
    assert audit_entries_expire(owner_database_url=role_url(owner)) == 7
    assert AuditEntry.objects.count() == 1
