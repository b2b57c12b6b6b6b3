"""GDPR Art. 17 in codes mode (issue 10, item 6): with a code, a person has their e-mail
address and mobile number erased; a booked pair is cancelled first (seats free at once,
confirmation sent), the standby list is left; after the first dose it is refused (the
second is changed at the centre), with nothing changed."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from impftermin.booking.models import AppointmentPair, AppointmentStatus, PairStatus
from impftermin.codes.models import CodeSet, PinRequest, StandbyEntry, StandbyStatus
from impftermin.codes.services import code_book_pair, pin_requests_expire
from impftermin.notifications.models import OutboundMessage
from tests.codes.helpers import codes_for
from tests.factories import at, make_postcode, make_slot


def checked(world, mobile="+4915112345678") -> tuple[Client, list[str], CodeSet]:
    make_postcode("48143", world.district)
    codes = codes_for(world, mobile)
    client = Client()
    client.post("/termin/pruefen/", {"code": codes[0].replace("-", "")})
    return client, codes, CodeSet.objects.latest("pk")


def book(world, code: str) -> AppointmentPair:
    first = make_slot(world.centre, world.biontech, at(5))
    second = make_slot(world.centre, world.biontech, at(27), released=False)
    result = code_book_pair(
        code=code, district_id=world.district.pk, first_slot_id=first.pk, second_slot_id=second.pk
    )
    return result.pairs[0]


def test_GDPR_erasure_with_a_code_cancels_the_pair_and_erases_address_and_number(world):
    client, codes, code_set = checked(world)
    pair = book(world, codes[0])
    OutboundMessage.objects.update(status="sent", sent_at=timezone.now())  # all went out
    assert OutboundMessage.objects.filter(holder=code_set.holder).count() == 2
    StandbyEntry.objects.create(code_set=code_set, district=world.district, vaccine=world.biontech)
    page = client.get("/termin/pruefen/daten-loeschen/").content.decode()
    assert "storniert" in page and "Ja, Daten löschen" in page
    done = client.post("/termin/pruefen/daten-loeschen/")
    assert done.status_code == 200 and "Ihre Daten sind gelöscht" in done.content.decode()
    code_set.refresh_from_db()
    assert code_set.email == ""
    # today's number stays for the day's PIN limit (R3) and goes in the night
    assert code_set.pin_request.mobile == "+4915112345678"
    PinRequest.objects.filter(pk=code_set.pin_request_id).update(
        day=timezone.localdate() - dt.timedelta(days=1)
    )
    assert pin_requests_expire() == 1
    code_set.pin_request.refresh_from_db()
    assert not code_set.pin_request.mobile.startswith("+")
    pair.refresh_from_db()
    assert pair.status == PairStatus.CANCELLED
    # the messages sent to them go; the cancellation's confirmation waits to be sent
    mine = OutboundMessage.objects.filter(holder=code_set.holder)
    assert list(mine.values_list("kind", flat=True)) == ["booking_cancelled"]
    assert not StandbyEntry.objects.filter(
        code_set=code_set, status__in=[StandbyStatus.WAITING, StandbyStatus.OFFERED]
    ).exists()
    # the session no longer holds the code
    assert client.get("/termin/pruefen/termin/")["Location"].endswith("/termin/pruefen/")


def test_GDPR_erasure_once_vaccinated_keeps_the_record_and_erases_the_contact(world):
    client, codes, code_set = checked(world, "+4915112345677")
    pair = book(world, codes[0])
    pair.appointments.update(status=AppointmentStatus.VACCINATED)
    assert client.post("/termin/pruefen/daten-loeschen/").status_code == 200
    code_set.refresh_from_db()
    pair.refresh_from_db()
    assert code_set.email == "" and pair.status == PairStatus.BOOKED  # the doses stay on record


def test_GDPR_erasure_after_the_first_dose_is_refused_and_changes_nothing(world):
    client, codes, code_set = checked(world, "+4915112345679")
    pair = book(world, codes[0])
    pair.appointments.filter(dose=1).update(status=AppointmentStatus.VACCINATED)
    refused = client.post("/termin/pruefen/daten-loeschen/")
    assert refused.status_code == 409
    code_set.refresh_from_db()
    assert code_set.email == "family@example.org"
    assert code_set.pin_request.mobile == "+4915112345679"
    pair.refresh_from_db()
    assert pair.status == PairStatus.BOOKED
