"""The standby list (R8, beyond the seeds): joining when nothing is free, offers in the
order of joining with a time-limited link, and what happens when an offer is taken, too
late, or raced."""

import datetime as dt
import re
import threading

import pytest
from django.db import connection
from django.utils import timezone

from impftermin.booking.models import AppointmentPair, PairStatus, Slot
from impftermin.codes.models import StandbyEntry, StandbyOffer, StandbyOfferStatus, StandbyStatus
from impftermin.codes.services import code_book_pair, code_cancel, code_set_for
from impftermin.codes.standby import MAX_OFFERS, standby_join, standby_offers_make
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from tests.codes.helpers import codes_for
from tests.factories import at, make_postcode, make_slot
from tests.mail import run_worker

MOBILES = ["0151 11111111", "0151 22222222", "0151 33333333", "0151 44444444"]


def join(world, mobile):
    code = codes_for(world, mobile)[0]
    standby_join(code=code, district_id=world.district.pk, vaccine_id=world.biontech.pk)
    return code


def open_slot(world, *, capacity=1, day=5):
    first = make_slot(world.centre, world.biontech, at(day), capacity=capacity)
    second = make_slot(world.centre, world.biontech, at(day + 22), capacity=4, released=False)
    return first, second


def offer_link(mobile_index: int = -1) -> str:
    mails = OutboundMessage.objects.filter(kind="standby_offer", channel="email").order_by("id")
    body = list(mails)[mobile_index].body
    return re.sub(r"^https?://[^/]+", "", re.search(r"https?://\S+", body).group(0))


def test_R8_a_person_finding_nothing_free_joins_from_the_times_page(client, world):
    make_postcode("48143", world.district)
    code = codes_for(world, MOBILES[0])[0]
    client.post("/termin/buchen/", {"code_1": code, "postcode": "48143"})
    page = client.get("/termin/buchen/termine/").content.decode()
    assert "keine Termine frei" in page and "Auf die Warteliste" in page
    response = client.post("/termin/warteliste/")
    assert response.status_code == 200
    assert "Ihr Platz auf der Warteliste: 1." in response.content.decode()
    entry = StandbyEntry.objects.get()
    assert entry.status == StandbyStatus.WAITING and entry.district == world.district
    assert OutboundMessage.objects.filter(kind="standby_joined").count() == 1
    client.post("/termin/warteliste/")  # joining again keeps the one place
    assert StandbyEntry.objects.count() == 1


def test_R8_offers_go_out_in_the_order_of_joining_with_a_time_limited_link(world):
    holders = [code_set_for(join(world, mobile)).holder for mobile in MOBILES[:3]]
    first, second = open_slot(world, capacity=2)
    assert standby_offers_make() == 2
    offered = StandbyEntry.objects.filter(status=StandbyStatus.OFFERED)
    assert {e.code_set.holder for e in offered} == set(holders[:2])  # first come, first offered
    waiting = StandbyEntry.objects.get(status=StandbyStatus.WAITING)
    assert waiting.code_set.holder == holders[2]
    offer = StandbyOffer.objects.first()
    assert offer.expires_at - timezone.now() <= dt.timedelta(hours=12)
    assert {offer.first_slot_id, offer.second_slot_id} == {first.pk, second.pk}
    assert OutboundMessage.objects.filter(kind="standby_offer", channel="sms").count() == 2
    assert standby_offers_make() == 0  # open offers hold their seats back from more offers


def test_R8_the_link_books_the_offered_pair_once(client, world):
    join(world, MOBILES[0])
    first, second = open_slot(world)
    standby_offers_make()
    link = offer_link()
    assert "Das Angebot gilt bis" in client.get(link).content.decode()
    response = client.post(link)
    assert response.status_code == 200 and "Ihre Termine sind gebucht" in response.content.decode()
    pair = AppointmentPair.objects.get(status=PairStatus.BOOKED)
    assert {a.slot_id for a in pair.appointments.all()} == {first.pk, second.pk}
    assert StandbyEntry.objects.get().status == StandbyStatus.BOOKED
    assert StandbyOffer.objects.get().status == StandbyOfferStatus.ACCEPTED
    assert OutboundMessage.objects.filter(kind="booking_confirmation").count() == 1
    again = client.post(link)
    assert again.status_code == 410 and AppointmentPair.objects.count() == 1


def test_R8_an_unanswered_offer_expires_and_passes_the_seat_on(client, world):
    join(world, MOBILES[0])
    join(world, MOBILES[1])
    open_slot(world)
    standby_offers_make()
    first_link = offer_link()
    later = timezone.now() + dt.timedelta(hours=13)
    assert standby_offers_make(now=later) == 1
    offers = StandbyOffer.objects.order_by("created_at")
    assert [o.status for o in offers] == [StandbyOfferStatus.EXPIRED, StandbyOfferStatus.OPEN]
    # the first person keeps their place and gets the next seat that is free
    assert offers[0].entry.status == StandbyStatus.WAITING
    response = client.post(first_link)
    assert response.status_code == 410 and "abgelaufen" in response.content.decode()
    assert not AppointmentPair.objects.exists()


def test_R8_after_the_last_unanswered_offer_the_entry_expires(world):
    join(world, MOBILES[0])
    open_slot(world)
    now = timezone.now()
    for round_ in range(MAX_OFFERS):
        later = now + dt.timedelta(hours=13 * round_)
        # the run in which an offer runs out passes its seat on; the next run offers again
        assert standby_offers_make(now=later) == (0 if round_ else 1)
        assert round_ == 0 or standby_offers_make(now=later) == 1
    standby_offers_make(now=now + dt.timedelta(hours=13 * MAX_OFFERS))
    assert StandbyEntry.objects.get().status == StandbyStatus.EXPIRED


def test_R8_R11_a_raced_offer_shows_the_next_free_times(client, world):
    join(world, MOBILES[0])
    first, _second = open_slot(world)
    later, _later_second = open_slot(world, day=6)
    standby_offers_make()
    link = offer_link()
    Slot.objects.filter(pk=first.pk).update(booked=1)  # someone booked it by code meanwhile
    response = client.post(link)
    page = response.content.decode()
    assert response.status_code == 200 and "gerade von jemand anderem gebucht" in page
    option = re.search(rf'value="({later.pk}-[0-9]+)"', page).group(1)
    response = client.post(link, {"option": "not-a-time"})
    assert response.status_code == 200 and not AppointmentPair.objects.exists()
    client.post(link, {"option": option})
    assert AppointmentPair.objects.get().appointments.filter(slot=later).exists()


@pytest.mark.django_db(transaction=True)
def test_R8_a_cancellation_offers_the_freed_seat_to_the_list(world):
    first, _second = open_slot(world)
    booker = codes_for(world, MOBILES[0])[0]
    code_book_pair(code=booker, district_id=world.district.pk, first_slot_id=first.pk)
    join(world, MOBILES[1])
    assert standby_offers_make() == 0
    code_cancel(code=booker)
    run_worker()  # the cancellation enqueued the offer task in its own transaction
    assert StandbyOffer.objects.filter(first_slot=first).count() == 1


def test_R8_booking_by_code_leaves_the_list_and_a_booked_person_cannot_join(client, world):
    code = join(world, MOBILES[0])
    open_slot(world)  # offered
    later, _ = open_slot(world, day=6)  # booked by code meanwhile
    standby_offers_make()
    link = offer_link()
    code_book_pair(code=code, district_id=world.district.pk, first_slot_id=later.pk)
    assert StandbyEntry.objects.get().status == StandbyStatus.BOOKED
    # the open offer passes its seat on, and its link books nothing more
    assert StandbyOffer.objects.get().status == StandbyOfferStatus.EXPIRED
    assert client.post(link).status_code == 410
    assert AppointmentPair.objects.count() == 1
    with pytest.raises(ServiceError) as error:
        standby_join(code=code, district_id=world.district.pk, vaccine_id=world.biontech.pk)
    assert error.value.code == "standby_has_booking"


@pytest.mark.parametrize("token", ["nonsense", "x" * 300, ""])
def test_R8_a_wrong_offer_link_changes_nothing(client, world, token):
    response = client.post(f"/termin/warteliste/angebot/{token}/") if token else None
    if response is not None:
        assert response.status_code == 404
    assert not AppointmentPair.objects.exists()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_R8_offers_made_in_parallel_never_offer_one_seat_twice(world):
    for mobile in MOBILES:
        join(world, mobile)
    open_slot(world, capacity=2)
    barrier = threading.Barrier(4)

    def run():
        try:
            barrier.wait()
            standby_offers_make()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert StandbyOffer.objects.filter(status=StandbyOfferStatus.OPEN).count() == 2
    assert StandbyEntry.objects.filter(status=StandbyStatus.OFFERED).count() == 2
