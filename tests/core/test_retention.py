"""Issue 10, item 6: personal data is kept only as long as it is needed; the daily task
(core.tasks.expire_personal_data) erases what has expired, each kind by its own app."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from impftermin.booking.models import Appointment, AppointmentPair, PairStatus
from impftermin.codes.models import CodeSet, PinRequest, StandbyEntry, StandbyStatus
from impftermin.codes.services import pin_request
from impftermin.core.tasks import expire_personal_data
from impftermin.notifications.models import MessageStatus, OutboundMessage
from impftermin.notifications.services import message_send_later
from impftermin.registrations.models import Registration, RegistrationStatus
from tests.codes.helpers import codes_for
from tests.factories import make_slot

NOW = timezone.now()


def pair_for(world, holder: str, days_ago: int) -> AppointmentPair:
    """A pair whose second appointment began `days_ago` days ago (negative: ahead)."""
    pair = AppointmentPair.objects.create(
        holder=holder, vaccine=world.biontech, centre=world.centre, channel="online"
    )
    for dose, days in ((1, days_ago + 21), (2, days_ago)):
        slot = make_slot(
            world.centre, world.biontech, NOW - dt.timedelta(days=days), capacity=1, booked=1
        )
        Appointment.objects.create(pair=pair, slot=slot, dose=dose)
    return pair


def code_set(world, n: int, *, created_days_ago: int = 0) -> CodeSet:
    codes_for(world, f"+49151123458{n:02d}")
    found = CodeSet.objects.latest("pk")
    then = NOW - dt.timedelta(days=created_days_ago + 1)  # issued on an earlier day
    CodeSet.objects.filter(pk=found.pk).update(created_at=then)
    PinRequest.objects.filter(code_set=found).update(day=timezone.localdate(then))
    return found


def unconfirmed_pin(world, mobile: str, *, days_ago: int) -> PinRequest:
    """A PIN requested whose e-mail link was never confirmed: no codes came of it."""
    pin_request(region_id=world.region.pk, mobile=mobile, email="never@example.org")
    found = PinRequest.objects.latest("pk")
    found.day = timezone.localdate() - dt.timedelta(days=days_ago)
    found.save(update_fields=["day"])
    return found


def contact(found: CodeSet) -> tuple[str, str]:
    found.refresh_from_db()
    found.pin_request.refresh_from_db()
    return found.email, found.pin_request.mobile


@pytest.mark.django_db
def test_retention_contact_data_of_code_sets_go_weeks_after_the_last_appointment(world):
    done = code_set(world, 1)
    pair_for(world, done.holder, days_ago=50)
    recent = code_set(world, 2)
    pair_for(world, recent.holder, days_ago=10)
    ahead = code_set(world, 3)
    pair_for(world, ahead.holder, days_ago=-5)
    unused_old = code_set(world, 4, created_days_ago=200)
    unused_new = code_set(world, 5, created_days_ago=10)
    never_confirmed = unconfirmed_pin(world, "+4915112345890", days_ago=2)
    today_unconfirmed = unconfirmed_pin(world, "+4915112345891", days_ago=0)
    standing_by = code_set(world, 6, created_days_ago=200)
    StandbyEntry.objects.create(
        code_set=standing_by,
        district=world.district,
        vaccine=world.biontech,
        status=StandbyStatus.WAITING,
    )

    counts = expire_personal_data.call()
    assert counts["code_sets"] == 2 and counts["pin_requests"] == 1
    never_confirmed.refresh_from_db()
    today_unconfirmed.refresh_from_db()
    assert never_confirmed.mobile.startswith("-") and never_confirmed.email == ""
    assert today_unconfirmed.mobile == "+4915112345891"  # today's PIN count needs it
    for erased in (done, unused_old):
        email, mobile = contact(erased)
        assert email == "" and not mobile.startswith("+"), erased.pk
    for kept in (recent, ahead, unused_new, standing_by):
        email, mobile = contact(kept)
        assert email and mobile.startswith("+49"), kept.pk
    assert AppointmentPair.objects.filter(holder=done.holder).exists()  # statistics stay
    assert expire_personal_data.call()["code_sets"] == 0  # nothing twice


@pytest.mark.django_db
def test_retention_registrations_are_erased_weeks_after_their_last_appointment(pool):
    from tests.registrations.helpers import register

    done = register(pool)
    waiting = register(pool, first_name="Max", birth_date=dt.date(1948, 11, 2))
    Registration.objects.filter(pk=done.pk).update(status=RegistrationStatus.ASSIGNED)
    pair_for(pool, done.holder, days_ago=50)
    assert expire_personal_data.call()["registrations"] == 1
    done.refresh_from_db()
    waiting.refresh_from_db()
    assert done.status == RegistrationStatus.DELETED and done.last_name == "" and not done.email
    assert waiting.status == RegistrationStatus.WAITING and waiting.last_name == "Muster"
    assert AppointmentPair.objects.filter(holder=done.holder, status=PairStatus.BOOKED).exists()


@pytest.mark.django_db
def test_retention_sent_messages_go_after_a_month_waiting_ones_stay(world):
    old_sent, old_pending, new_sent = (
        message_send_later(channel="email", kind="test", recipient="a@example.org", body="x")
        for _i in range(3)
    )
    OutboundMessage.objects.filter(pk=old_sent.pk).update(
        status=MessageStatus.SENT, sent_at=NOW, created_at=NOW - dt.timedelta(days=40)
    )
    OutboundMessage.objects.filter(pk=old_pending.pk).update(created_at=NOW - dt.timedelta(days=40))
    OutboundMessage.objects.filter(pk=new_sent.pk).update(status=MessageStatus.SENT, sent_at=NOW)
    assert expire_personal_data.call()["messages"] == 1
    assert set(OutboundMessage.objects.values_list("pk", flat=True)) >= {
        old_pending.pk,
        new_sent.pk,
    }
    assert not OutboundMessage.objects.filter(pk=old_sent.pk).exists()
