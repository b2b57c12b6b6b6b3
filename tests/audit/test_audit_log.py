"""The audit log itself (issue 6, item 5): what an entry holds, what the service refuses,
how supervisors filter it, and that nobody can change or delete an entry."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from impftermin.audit.models import AppendOnlyError, AuditAction, AuditEntry, AuditSubject
from impftermin.audit.selectors import audit_entries
from impftermin.audit.services import audit_record
from impftermin.core.errors import ServiceError
from tests.audit.helpers import staff

BERLIN = ZoneInfo("Europe/Berlin")


def record(user, **fields) -> AuditEntry:
    data = {"action": AuditAction.VIEW, "what": AuditSubject.REGISTRATION, "which": 42}
    return audit_record(user=user, **(data | fields))


@pytest.fixture
def agent(db):
    return staff("agent1")


# --- what an entry holds ---------------------------------------------------------------------


def test_an_entry_records_who_when_what_which_record_and_why(agent):
    before = timezone.now()
    entry = record(agent, why="  Anruf: Termin verschieben ", detail="status")

    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.user == agent and entry.username == "agent1"
    assert before <= entry.at <= timezone.now()
    assert (entry.action, entry.what, entry.which) == ("view", "registration", "42")
    assert entry.why == "Anruf: Termin verschieben"
    assert entry.detail == "status"
    assert entry.get_action_display() == "Ansicht"
    assert entry.get_what_display() == "Registrierung"


def test_an_entry_keeps_the_username_of_its_time(agent):
    entry = record(agent)
    agent.username = "agent1-renamed"
    agent.save()
    entry.refresh_from_db()
    assert entry.username == "agent1"


def test_automatic_entries_may_go_without_a_reason(agent):
    entry = record(agent, which="")
    assert entry.why == "" and entry.which == ""


def test_a_reason_of_200_characters_is_kept_whole(agent):
    assert record(agent, why="x" * 200).why == "x" * 200


# --- what the service refuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"action": "read"}, "audit_action_unknown"),
        ({"action": None}, "audit_action_unknown"),
        ({"what": "person"}, "audit_what_unknown"),
        ({"which": "1" * 65}, "audit_which_too_long"),
        ({"which": True}, "audit_which_invalid"),
        ({"which": None}, "audit_which_invalid"),
        ({"why": "x" * 201}, "audit_why_too_long"),
        ({"why": None}, "audit_why_invalid"),
        ({"detail": "x" * 201}, "audit_detail_too_long"),
        ({"detail": ["status"]}, "audit_detail_invalid"),
    ],
)
def test_the_service_refuses_bad_input(agent, fields, code):
    with pytest.raises(ServiceError) as error:
        record(agent, **fields)
    assert error.value.code == code
    assert not AuditEntry.objects.exists()


def test_only_active_staff_are_recorded(db, django_user_model):
    citizen = django_user_model.objects.create_user("citizen", password="x")
    former = staff("former", is_active=False)
    for user in [None, AnonymousUser(), citizen, former]:
        with pytest.raises(ServiceError) as error:
            record(user)
        assert error.value.code == "audit_not_staff"
    assert not AuditEntry.objects.exists()


# --- nobody changes or deletes an entry ------------------------------------------------------


def test_an_entry_cannot_be_changed_or_deleted_through_the_orm(agent):
    entry = record(agent, why="Anruf")

    entry.why = "nichts gewesen"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(why="nichts gewesen")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    # A new instance with an existing row's id is inserted, never written over that row.
    forged = AuditEntry(
        pk=entry.pk, user=agent, username="x", action="view", what="registration", which="1"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()

    entry.refresh_from_db()
    assert (entry.why, entry.username, entry.which) == ("Anruf", "agent1", "42")
    assert AuditEntry.objects.count() == 1


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_an_entry(agent):
    entry = record(agent, why="Anruf")
    attempts = [
        ("UPDATE audit_auditentry SET why = 'nichts gewesen' WHERE id = %s", [entry.pk]),
        ("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk]),
        ("DELETE FROM audit_auditentry", []),
    ]
    for sql, params in attempts:
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
    # The ORM's plain manager does not pass either.
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry._base_manager.filter(pk=entry.pk).update(why="nichts gewesen")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry._base_manager.filter(pk=entry.pk)._raw_delete(connection.alias)

    entry.refresh_from_db()
    assert entry.why == "Anruf"


def test_a_staff_account_with_entries_cannot_be_deleted(agent):
    record(agent)
    with pytest.raises(ProtectedError):
        agent.delete()
    assert AuditEntry.objects.filter(user=agent).exists()


# --- reading it ------------------------------------------------------------------------------


def test_supervisors_filter_entries_by_user_action_kind_record_and_local_day(agent, monkeypatch):
    other = staff("agent2")

    def at(*args):
        moment = dt.datetime(*args, tzinfo=BERLIN)
        monkeypatch.setattr(timezone, "now", lambda: moment)

    at(2021, 5, 3, 23, 30)  # 21:30 UTC
    late = record(agent, which=1)
    at(2021, 5, 4, 0, 30)  # still 3 May in UTC
    early = record(agent, action=AuditAction.CHANGE, which=2)
    at(2021, 5, 4, 12, 0)
    export = record(other, action=AuditAction.EXPORT, what=AuditSubject.PRINT_BATCH, which=1)
    monkeypatch.undo()

    assert list(audit_entries()) == [export, early, late]  # newest first
    assert list(audit_entries(user=agent)) == [early, late]
    assert list(audit_entries(user=other.pk)) == [export]
    assert list(audit_entries(action=AuditAction.CHANGE)) == [early]
    assert list(audit_entries(what=AuditSubject.REGISTRATION, which=1)) == [late]
    assert list(audit_entries(which="1")) == [export, late]
    may_4 = dt.date(2021, 5, 4)
    assert list(audit_entries(date_from=may_4, date_to=may_4)) == [export, early]
    assert list(audit_entries(date_to=dt.date(2021, 5, 3))) == [late]
    assert list(audit_entries(user=agent, date_from=may_4)) == [early]
