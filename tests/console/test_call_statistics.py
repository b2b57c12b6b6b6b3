"""Call statistics for supervisors (issue 6 item 6): bookings, registrations, rebookings,
cancellations and deletions per agent and hour, counted from the audit entries that every
change on a call writes; only supervisors see them."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from impftermin.audit.models import AuditAction, AuditSubject
from impftermin.audit.services import audit_record
from impftermin.codes.services import code_set_for
from impftermin.console.codes_services import (
    code_cancel_for_caller,
    code_lookup,
    code_rebook_for_caller,
    codes_book_for_caller,
)
from impftermin.console.selectors import call_statistics
from impftermin.staff import roles
from tests.factories import at, make_slot

URL = reverse("console:statistics")
DAY = dt.date(2026, 11, 20)


def _local(hour: int, minute: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(DAY, dt.time(hour, minute)))


@pytest.fixture
def calls(world, member):
    """On DAY: anna books two people at 09:10 and rebooks one at 09:40; ben cancels at 10:05
    and registers someone at 10:30; anna looks a code up at 10:50 (not counted); ben books
    the day before (not counted)."""
    anna, ben = member("anna"), member("ben")
    first = make_slot(world.centre, world.biontech, at(5), capacity=4)
    later = make_slot(world.centre, world.biontech, at(6), capacity=4)
    second = make_slot(world.centre, world.biontech, at(27), capacity=8, released=False)
    booking = {
        "region_id": world.region.pk,
        "vaccine_id": world.biontech.pk,
        "district_id": world.district.pk,
        "first_slot_id": first.pk,
        "second_slot_id": second.pk,
    }

    def now_is(moment):
        return mock.patch("django.utils.timezone.now", return_value=moment)

    with now_is(_local(9, 10)):
        booked = codes_book_for_caller(user=anna, why="Terminbuchung", party_size=2, **booking)
    codes = [person.codes[0] for person in booked.people]
    with now_is(_local(9, 40)):
        code_rebook_for_caller(
            user=anna, code=codes[0], first_slot_id=later.pk, second_slot_id=second.pk, why="x"
        )
    with now_is(_local(10, 5)):
        code_cancel_for_caller(user=ben, code=codes[1], why="Stornierung")
    with now_is(_local(10, 30)):
        audit_record(
            user=ben,
            action=AuditAction.CHANGE,
            what=AuditSubject.REGISTRATION,
            which=1,
            detail="registered",
        )
    with now_is(_local(10, 50)):
        code_lookup(user=anna, code=codes[0], why="Auskunft")
    with now_is(_local(9, 0) - dt.timedelta(days=1)):
        codes_book_for_caller(user=ben, why="Terminbuchung", party_size=1, **booking)
    assert code_set_for(codes[0]).channel == "phone"
    return anna, ben


def _cells(counts) -> dict:
    return {outcome: n for outcome, n in counts.by_outcome.items() if n}


def test_item6_counts_changes_per_agent_and_hour(calls):
    _anna, ben = calls
    statistics = call_statistics(day=DAY)
    by_agent = {a.total.agent: a for a in statistics.agents}
    assert list(by_agent) == ["anna", "ben"]
    anna_hours = by_agent["anna"].hours
    assert [timezone.localtime(h.hour).hour for h in anna_hours] == [9]
    assert _cells(anna_hours[0]) == {"booked": 2, "rebooked": 1}  # two people, one move
    ben_hours = by_agent["ben"].hours
    assert [timezone.localtime(h.hour).hour for h in ben_hours] == [10]
    assert _cells(ben_hours[0]) == {"cancelled": 1, "registered": 1}
    assert [(timezone.localtime(h.hour).hour, h.total) for h in statistics.hours] == [
        (9, 3),
        (10, 2),
    ]
    assert statistics.total.total == 5
    # one agent only; another day
    assert [a.total.agent for a in call_statistics(day=DAY, user=ben.pk).agents] == ["ben"]
    before = call_statistics(day=DAY - dt.timedelta(days=1))
    assert _cells(before.total) == {"booked": 1}


def test_item6_supervisor_reads_the_page(calls, member, staff_client):
    client = staff_client(member("lead", roles.SUPERVISOR))
    page = client.get(URL, {"tag": DAY.strftime("%d.%m.%Y")}).content.decode()
    assert "anna" in page and "ben" in page
    assert "09:00\N{EN DASH}09:59" in page and "10:00\N{EN DASH}10:59" in page
    assert "Buchungen" in page and "Registrierungen" in page and "Stornierungen" in page
    anna, _ben = calls
    page = client.get(URL, {"tag": DAY.isoformat(), "agent": anna.pk}).content.decode()
    assert 'scope="row" class="kern-table__header">anna<' in page
    assert 'scope="row" class="kern-table__header">ben<' not in page
    empty = client.get(URL, {"tag": "01.01.2021"}).content.decode()
    assert "nichts gebucht" in empty
    home = client.get(reverse("console:home")).content.decode()
    assert URL in home


@pytest.mark.parametrize("query", [{"tag": "31.02.2021"}, {"tag": "x" * 500}, {"agent": "abc"}])
def test_item6_bad_input_is_refused_with_a_message(member, staff_client, query):
    client = staff_client(member("lead", roles.SUPERVISOR))
    response = client.get(URL, query)
    assert response.status_code == 400
    assert 'id="error-summary"' in response.content.decode()


def test_item6_only_supervisors_see_the_statistics(member, staff_client):
    agent = member("agent")
    response = staff_client(agent).get(URL)
    assert response.status_code == 403
    assert URL not in staff_client(agent).get(reverse("console:home")).content.decode()
    assert staff_client(member("centre", roles.CENTRE_STAFF)).get(URL).status_code == 403
    unverified = Client()
    unverified.force_login(member("lead", roles.SUPERVISOR))
    assert unverified.get(URL)["Location"].startswith(reverse("staff:verify"))


def test_item6_the_hour_repeated_when_the_clocks_go_back_stays_two_hours(member):
    agent = member("anna")
    with timezone.override("Europe/Berlin"):
        for moment in ("2024-10-27T00:30:00+00:00", "2024-10-27T01:30:00+00:00"):
            with mock.patch(
                "django.utils.timezone.now", return_value=dt.datetime.fromisoformat(moment)
            ):
                audit_record(
                    user=agent,
                    action=AuditAction.CHANGE,
                    what=AuditSubject.REGISTRATION,
                    which=1,
                    detail="booked",
                )
        hours = call_statistics(day=dt.date(2024, 10, 27)).hours
        assert [timezone.localtime(h.hour).strftime("%H:%M %Z") for h in hours] == [
            "02:00 CEST",
            "02:00 CET",
        ]
