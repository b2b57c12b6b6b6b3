"""Short-notice offers "Sofort" (R25) and couples (R19) in assignment mode, with what a
couple means for cancel (R22), rebook (R20), delete (R23) and the assignment (R16)."""

import datetime as dt
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from impftermin.booking.models import Appointment, AppointmentPair, PairStatus, Slot
from impftermin.booking.selectors import live_pair_for
from impftermin.booking.services import pairs_book_adjacent
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.registrations.models import Letter, Registration, RegistrationStatus
from impftermin.registrations.services import (
    registration_delete,
    registration_pair_cancel,
    registration_rebook,
    registration_short_notice,
    registration_uncouple,
    registrations_assign,
    registrations_couple,
    vorgangskennung_new,
)
from tests.factories import at, make_slot

_numbers = itertools.count(1)


def person(pool, **fields) -> Registration:
    """A confirmed online registration, waiting, at the test centre with BioNTech."""
    n = next(_numbers)
    data = {
        "vorgangskennung": vorgangskennung_new(),
        "region": pool.region,
        "district": pool.district,
        "centre": pool.centre,
        "vaccine": pool.biontech,
        "first_name": f"Person {n}",
        "last_name": "Muster",
        "birth_date": dt.date(1940, 1, 1) + dt.timedelta(days=n),
        "street": "Rheinstraße 12",
        "postcode": "48143",
        "city": "Münster",
        "residence": "first",
        "channel": "online",
        "email": f"person{n}@example.org",
        "identity_key": f"test-{n}",
    }
    return Registration.objects.create(**(data | fields))


def pair_of(registration: Registration) -> AppointmentPair | None:
    return live_pair_for(holder=registration.holder)


def slots_of(registration: Registration) -> list[int]:
    return [a.slot_id for a in pair_of(registration).appointments.order_by("dose")]


def fresh(registration: Registration) -> Registration:
    return Registration.objects.get(pk=registration.pk)


def seats_match_appointments() -> bool:
    return all(
        slot.booked
        == Appointment.objects.filter(slot=slot, pair__status=PairStatus.BOOKED).count()
        <= slot.capacity
        for slot in Slot.objects.all()
    )


def couple(a: Registration, b: Registration) -> Registration:
    return registrations_couple(
        registration_id=a.pk,
        partner_vorgangskennung=b.vorgangskennung,
        partner_birth_date=b.birth_date,
    )


# --- R25: short-notice offers ----------------------------------------------------------------


def test_R25_short_notice_books_a_free_slot_within_the_window(pool):
    make_slot(pool.centre, pool.biontech, at(3))
    make_slot(pool.centre, pool.biontech, at(25), released=False)
    soon = make_slot(pool.centre, pool.biontech, at(1, 9))
    soon_second = make_slot(pool.centre, pool.biontech, at(23, 9), released=False)
    make_slot(pool.other_centre, pool.biontech, at(1, 8))  # another centre: not offered
    registration = person(pool)

    pair = registration_short_notice(registration_id=registration.pk)

    assert slots_of(registration) == [soon.pk, soon_second.pk]  # the earliest
    assert pair.channel == "online" and pair.holder == registration.holder
    assert fresh(registration).status == RegistrationStatus.ASSIGNED
    soon.refresh_from_db()
    assert soon.booked == 1
    mail = OutboundMessage.objects.get(kind="booking_confirmation")
    assert mail.recipient == registration.email and "kurzfristig" in mail.body
    assert seats_match_appointments()


def test_R25_nothing_free_keeps_the_person_in_the_pool(pool):
    make_slot(pool.centre, pool.biontech, at(2), capacity=1, booked=1)  # full
    make_slot(pool.centre, pool.biontech, at(24), released=False)
    registration = person(pool)

    with pytest.raises(ServiceError) as error:
        registration_short_notice(registration_id=registration.pk)

    assert error.value.code == "no_short_notice"
    assert error.value.message == (
        "In den nächsten 4 Tagen ist in Ihrem Impfzentrum kein Termin frei. Sie bleiben "
        "registriert und bekommen weiter Termine zugewiesen."
    )
    assert fresh(registration).status == RegistrationStatus.WAITING
    assert not AppointmentPair.objects.exists() and not OutboundMessage.objects.exists()
    # still in the pool: the assignment gives it a pair later on
    make_slot(pool.centre, pool.biontech, at(10))
    make_slot(pool.centre, pool.biontech, at(32), released=False)
    assert registrations_assign() == 1


def test_R25_slot_beyond_window_is_not_offered(pool):
    # Today is the first of the 4 days: a slot on the fifth day lies beyond the window,
    # and one that starts within the hour could not be reached.
    make_slot(pool.centre, pool.biontech, at(4, 8))
    make_slot(pool.centre, pool.biontech, at(26, 8), released=False)
    in_half_an_hour = timezone.now() + dt.timedelta(minutes=30)
    make_slot(pool.centre, pool.biontech, in_half_an_hour)
    make_slot(pool.centre, pool.biontech, in_half_an_hour + dt.timedelta(days=22), released=False)
    registration = person(pool)
    with pytest.raises(ServiceError) as error:
        registration_short_notice(registration_id=registration.pk)
    assert error.value.code == "no_short_notice"
    # a region with a longer window offers the fifth day
    pool.region.short_notice_days = 5
    pool.region.save()
    registration_short_notice(registration_id=registration.pk)
    assert fresh(registration).status == RegistrationStatus.ASSIGNED


def test_R25_phone_registration_is_told_to_call(pool):
    make_slot(pool.centre, pool.biontech, at(2))
    make_slot(pool.centre, pool.biontech, at(24), released=False)
    registration = person(pool, channel="phone", email="")
    with pytest.raises(ServiceError) as error:
        registration_short_notice(registration_id=registration.pk)
    assert error.value.code == "short_notice_by_phone"
    assert "Hotline" in error.value.message and pool.region.hotline in error.value.message
    assert not AppointmentPair.objects.exists()


@pytest.mark.parametrize("status", [RegistrationStatus.REVIEW, RegistrationStatus.DELETED])
def test_R25_review_and_deleted_registrations_are_refused(pool, status):
    make_slot(pool.centre, pool.biontech, at(2))
    make_slot(pool.centre, pool.biontech, at(24), released=False)
    registration = person(pool, status=status)
    with pytest.raises(ServiceError) as error:
        registration_short_notice(registration_id=registration.pk)
    assert error.value.code == (
        "not_confirmed" if status == RegistrationStatus.REVIEW else "unknown_registration"
    )
    assert not AppointmentPair.objects.exists()


@pytest.mark.parametrize("bad", [None, "", "abc", -1, 0, 2**70, 1.5, [1], True, "1; drop"])
def test_R25_bad_input_is_refused_cleanly(pool, bad):
    with pytest.raises(ServiceError) as error:
        registration_short_notice(registration_id=bad)
    assert error.value.code == "unknown_registration"
    assert error.value.message == "Diese Registrierung gibt es nicht."


def test_R25_an_assigned_pair_moves_to_the_earlier_slot(pool):
    old_first = make_slot(pool.centre, pool.biontech, at(10))
    make_slot(pool.centre, pool.biontech, at(32), released=False)
    registration = person(pool)
    assert registrations_assign() == 1
    old_pair = pair_of(registration)
    soon = make_slot(pool.centre, pool.biontech, at(2))
    make_slot(pool.centre, pool.biontech, at(24), released=False)

    pair = registration_short_notice(registration_id=registration.pk)

    assert slots_of(registration)[0] == soon.pk
    old_pair.refresh_from_db()
    old_first.refresh_from_db()
    assert old_pair.status == PairStatus.CANCELLED and old_pair.replaced_by_id == pair.pk
    assert old_first.booked == 0  # the old seats are free at once
    mail = OutboundMessage.objects.get(kind="booking_rebooked")
    assert "vorgezogen" in mail.body
    assert seats_match_appointments()
    # asked again: the new pair lies within the cut-off now (R20) and stays
    with pytest.raises(ServiceError) as error:
        registration_short_notice(registration_id=registration.pk)
    assert error.value.code == "rebook_too_late"
    assert pair_of(registration).pk == pair.pk


def test_R25_only_a_slot_before_the_assigned_one_is_offered(pool):
    pool.region.rebook_cutoff_days = 1
    pool.region.save()
    make_slot(pool.centre, pool.biontech, at(3, 10))
    make_slot(pool.centre, pool.biontech, at(25, 10), released=False)
    registration = person(pool)
    assert registrations_assign() == 1
    make_slot(pool.centre, pool.biontech, at(3, 12))  # free, in the window, but later
    make_slot(pool.centre, pool.biontech, at(25, 12), released=False)
    before = slots_of(registration)
    with pytest.raises(ServiceError) as error:
        registration_short_notice(registration_id=registration.pk)
    assert error.value.code == "no_short_notice"
    assert error.value.message == (
        "In den nächsten 4 Tagen ist in Ihrem Impfzentrum kein früherer Termin frei. "
        "Ihre Termine bleiben, wie sie sind."
    )
    assert slots_of(registration) == before


def test_R25_R20_a_pair_within_the_cut_off_is_not_moved(pool):
    make_slot(pool.centre, pool.biontech, at(2, 15))
    make_slot(pool.centre, pool.biontech, at(24, 15), released=False)
    registration = person(pool)
    assert registrations_assign() == 1
    make_slot(pool.centre, pool.biontech, at(1))
    make_slot(pool.centre, pool.biontech, at(23), released=False)
    before = slots_of(registration)
    with pytest.raises(ServiceError) as error:
        registration_short_notice(registration_id=registration.pk)
    assert error.value.code == "rebook_too_late"
    assert slots_of(registration) == before


def test_R25_R17_without_email_a_letter_is_issued(pool):
    make_slot(pool.centre, pool.biontech, at(2))
    make_slot(pool.centre, pool.biontech, at(24), released=False)
    registration = person(pool, email="")
    pair = registration_short_notice(registration_id=registration.pk)
    letter = Letter.objects.get(registration=registration)
    assert letter.reason == "short_notice" and letter.pair_id == pair.pk
    assert not OutboundMessage.objects.exists()


def test_R25_R27_a_single_dose_registration_gets_one_appointment(pool):
    make_slot(pool.centre, pool.biontech, at(2))  # no second dose anywhere: not needed
    registration = person(pool, single_dose=True)
    pair = registration_short_notice(registration_id=registration.pk)
    assert list(pair.appointments.values_list("dose", flat=True)) == [1]
    assert not pair.second_dose_at_centre


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_R25_race_for_the_last_seat_never_overbooks(pool):
    # Three pairs in the window for six people asking at the same moment.
    make_slot(pool.centre, pool.biontech, at(1), capacity=2)
    make_slot(pool.centre, pool.biontech, at(23), capacity=2, released=False)
    make_slot(pool.centre, pool.biontech, at(2), capacity=1)
    make_slot(pool.centre, pool.biontech, at(24), capacity=1, released=False)
    people = [person(pool) for _ in range(6)]
    barrier = threading.Barrier(len(people))

    def ask(registration: Registration) -> str:
        try:
            barrier.wait(timeout=30)
            registration_short_notice(registration_id=registration.pk)
            return "booked"
        except ServiceError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(people)) as executor:
        outcomes = list(executor.map(ask, people))

    assert sorted(outcomes) == ["booked"] * 3 + ["no_short_notice"] * 3
    assert seats_match_appointments()
    assigned = Registration.objects.filter(status=RegistrationStatus.ASSIGNED)
    assert assigned.count() == AppointmentPair.objects.filter(status=PairStatus.BOOKED).count()
    assert OutboundMessage.objects.filter(kind="booking_confirmation").count() == 3


# --- R19: couples --------------------------------------------------------------------------


def test_R19_couple_gets_adjacent_pairs_at_the_same_times(pool):
    make_slot(pool.centre, pool.biontech, at(5, 9), capacity=1)  # room for one only
    make_slot(pool.centre, pool.biontech, at(27, 9), capacity=1, released=False)
    first = make_slot(pool.centre, pool.biontech, at(5, 10), capacity=2)
    second = make_slot(pool.centre, pool.biontech, at(27, 10), capacity=2, released=False)
    erika, max_ = person(pool), person(pool, email="")

    coupled = couple(erika, max_)

    assert coupled.partner_id == max_.pk and fresh(max_).partner_id == erika.pk
    assert slots_of(erika) == slots_of(max_) == [first.pk, second.pk]
    assert pair_of(erika).party is not None and pair_of(erika).party == pair_of(max_).party
    assert {fresh(erika).status, fresh(max_).status} == {RegistrationStatus.ASSIGNED}
    # each is told: by e-mail, or without one by letter (R17)
    assert OutboundMessage.objects.get(kind="booking_confirmation").recipient == erika.email
    assert Letter.objects.get(registration=max_).reason == "assigned"
    assert seats_match_appointments()


def test_R19_a_waiting_couple_is_assigned_side_by_side(pool):
    erika, max_ = person(pool), person(pool)
    couple(erika, max_)  # nothing free yet: they wait together
    assert fresh(erika).status == fresh(max_).status == RegistrationStatus.WAITING
    single = person(pool)
    make_slot(pool.centre, pool.biontech, at(5, 9), capacity=1)
    make_slot(pool.centre, pool.biontech, at(27, 9), capacity=3, released=False)
    first = make_slot(pool.centre, pool.biontech, at(5, 10), capacity=3)

    assert registrations_assign() == 3

    assert slots_of(erika)[0] == slots_of(max_)[0] == first.pk
    assert slots_of(erika)[1] == slots_of(max_)[1]
    assert pair_of(erika).party == pair_of(max_).party is not None
    assert slots_of(single)[0] != first.pk  # the single seat at 9:00 went to the single
    assert pair_of(single).party is None
    assert seats_match_appointments()


def test_R19_couple_is_assigned_both_or_neither(pool):
    erika, max_ = person(pool), person(pool)
    couple(erika, max_)
    later = person(pool)  # registered after the couple
    make_slot(pool.centre, pool.biontech, at(5), capacity=1)
    make_slot(pool.centre, pool.biontech, at(27), capacity=1, released=False)

    assert registrations_assign() == 1  # one seat: not for the couple, but for the next

    assert fresh(erika).status == fresh(max_).status == RegistrationStatus.WAITING
    assert pair_of(erika) is None and pair_of(max_) is None
    assert fresh(later).status == RegistrationStatus.ASSIGNED
    assert seats_match_appointments()


def test_R19_a_couple_with_a_partner_in_review_is_not_assigned(pool):
    erika, max_ = person(pool), person(pool)
    couple(erika, max_)
    # however it came about (an operator's change in the admin, say): never one alone
    Registration.objects.filter(pk=max_.pk).update(status=RegistrationStatus.REVIEW)
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(27), released=False)
    assert registrations_assign() == 0
    assert not AppointmentPair.objects.exists()


def test_R19_wrong_partner_birth_date_is_refused_like_an_unknown_vorgangskennung(pool):
    erika, max_ = person(pool), person(pool)
    with pytest.raises(ServiceError) as wrong_date:
        registrations_couple(
            registration_id=erika.pk,
            partner_vorgangskennung=max_.vorgangskennung,
            partner_birth_date=max_.birth_date + dt.timedelta(days=1),
        )
    with pytest.raises(ServiceError) as unknown:
        registrations_couple(
            registration_id=erika.pk,
            partner_vorgangskennung=vorgangskennung_new(),
            partner_birth_date=max_.birth_date,
        )
    assert wrong_date.value.as_dict() == unknown.value.as_dict()
    assert wrong_date.value.code == "partner_not_found"
    assert fresh(erika).partner_id is None and fresh(max_).partner_id is None


def test_R19_guessing_the_partner_birth_date_is_throttled(pool):
    erika, max_ = person(pool), person(pool)
    for days in range(1, 6):
        with pytest.raises(ServiceError):
            registrations_couple(
                registration_id=erika.pk,
                partner_vorgangskennung=max_.vorgangskennung,
                partner_birth_date=max_.birth_date + dt.timedelta(days=days),
            )
    with pytest.raises(ServiceError) as error:
        couple(erika, max_)  # now even the right date waits
    assert error.value.code == "throttled"
    assert fresh(erika).partner_id is None


def test_R19_couple_needs_same_centre_and_vaccine(pool):
    erika = person(pool)
    elsewhere = person(pool, centre=pool.other_centre, district=pool.other_district)
    other_vaccine = person(pool, vaccine=pool.janssen)
    recovered = person(pool, single_dose=True)
    for partner in (elsewhere, other_vaccine, recovered):
        with pytest.raises(ServiceError) as error:
            couple(erika, partner)
        assert error.value.code == "couple_mismatch"
        assert "Impfzentrum" in error.value.message
    assert not Registration.objects.filter(partner__isnull=False).exists()


def test_R19_who_cannot_be_coupled(pool):
    erika, max_, third = person(pool), person(pool), person(pool)
    held = person(pool, status=RegistrationStatus.REVIEW)
    with pytest.raises(ServiceError) as error:
        couple(erika, erika)
    assert error.value.code == "couple_with_self"
    with pytest.raises(ServiceError) as error:
        couple(erika, held)
    assert error.value.code == "not_confirmed"
    couple(erika, max_)
    with pytest.raises(ServiceError) as error:
        couple(third, max_)
    assert error.value.code == "already_coupled"
    with pytest.raises(ServiceError) as error:
        couple(max_, erika)
    assert error.value.code == "already_coupled"
    registration_delete(registration_id=third.pk)
    with pytest.raises(ServiceError) as error:
        couple(erika, fresh(third))
    assert error.value.code == "partner_not_found"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"registration_id": None}, "unknown_registration"),
        ({"registration_id": "x"}, "unknown_registration"),
        ({"registration_id": -3}, "unknown_registration"),
        ({"partner_vorgangskennung": None}, "vorgangskennung_format"),
        ({"partner_vorgangskennung": "ABCD-EFGH"}, "vorgangskennung_format"),
        ({"partner_vorgangskennung": 123456789012}, "vorgangskennung_format"),
        ({"partner_birth_date": None}, "birth_date_invalid"),
        ({"partner_birth_date": "1950-03-15"}, "birth_date_invalid"),
        ({"partner_birth_date": dt.datetime(1950, 3, 15, tzinfo=dt.UTC)}, "birth_date_invalid"),
    ],
)
def test_R19_bad_input_is_refused_cleanly(pool, fields, code):
    erika, max_ = person(pool), person(pool)
    data = {
        "registration_id": erika.pk,
        "partner_vorgangskennung": max_.vorgangskennung,
        "partner_birth_date": max_.birth_date,
    }
    with pytest.raises(ServiceError) as error:
        registrations_couple(**(data | fields))
    assert error.value.code == code and error.value.message
    assert not Registration.objects.filter(partner__isnull=False).exists()


def test_R19_coupling_people_with_pairs_moves_both_or_changes_nothing(pool):
    make_slot(pool.centre, pool.biontech, at(8, 9), capacity=1)
    make_slot(pool.centre, pool.biontech, at(30, 9), capacity=1, released=False)
    make_slot(pool.centre, pool.biontech, at(9, 9), capacity=1)
    make_slot(pool.centre, pool.biontech, at(31, 9), capacity=1, released=False)
    erika, max_ = person(pool), person(pool)
    assert registrations_assign() == 2
    before = {r.pk: slots_of(r) for r in (erika, max_)}
    assert before[erika.pk] != before[max_.pk]

    with pytest.raises(ServiceError) as error:  # no two seats side by side anywhere
        couple(erika, max_)
    assert error.value.code == "no_adjacent_slots"
    assert {r.pk: slots_of(r) for r in (erika, max_)} == before
    assert fresh(erika).partner_id is None and fresh(max_).partner_id is None

    first = make_slot(pool.centre, pool.biontech, at(12), capacity=2)
    make_slot(pool.centre, pool.biontech, at(34), capacity=2, released=False)
    couple(erika, max_)
    assert slots_of(erika) == slots_of(max_) and slots_of(erika)[0] == first.pk
    assert OutboundMessage.objects.filter(kind="booking_rebooked").count() == 2
    assert Slot.objects.get(start=at(8, 9)).booked == 0  # the old seats are free
    assert seats_match_appointments()


def test_R19_R20_rebooking_one_moves_both(pool):
    make_slot(pool.centre, pool.biontech, at(8), capacity=2)
    make_slot(pool.centre, pool.biontech, at(30), capacity=2, released=False)
    erika, max_ = person(pool), person(pool)
    couple(erika, max_)
    before = slots_of(erika)
    narrow = make_slot(pool.centre, pool.biontech, at(10, 9), capacity=1)
    make_slot(pool.centre, pool.biontech, at(32, 9), capacity=1, released=False)
    wide = make_slot(pool.centre, pool.biontech, at(11), capacity=2)
    wide_second = make_slot(pool.centre, pool.biontech, at(33), capacity=2, released=False)

    result = registration_rebook(registration_id=max_.pk, first_slot_id=narrow.pk)
    assert not result.booked and result.alternatives  # room for one only: nobody moves
    assert slots_of(erika) == slots_of(max_) == before

    result = registration_rebook(
        registration_id=max_.pk, first_slot_id=wide.pk, second_slot_id=wide_second.pk
    )
    assert result.booked
    assert slots_of(erika) == slots_of(max_) == [wide.pk, wide_second.pk]
    assert OutboundMessage.objects.filter(kind="booking_rebooked").count() == 2
    assert seats_match_appointments()


def test_R19_R22_cancelling_one_dissolves_the_couple_and_the_partner_keeps_the_pair(pool):
    make_slot(pool.centre, pool.biontech, at(8), capacity=2)
    make_slot(pool.centre, pool.biontech, at(30), capacity=2, released=False)
    erika, max_ = person(pool), person(pool)
    couple(erika, max_)
    kept = slots_of(max_)

    registration_pair_cancel(registration_id=erika.pk)

    erika, max_ = fresh(erika), fresh(max_)
    assert erika.partner_id is None and max_.partner_id is None
    assert erika.status == RegistrationStatus.WAITING and pair_of(erika) is None
    assert max_.status == RegistrationStatus.ASSIGNED and slots_of(max_) == kept
    assert seats_match_appointments()


def test_R23_deleting_one_dissolves_the_couple(pool):
    make_slot(pool.centre, pool.biontech, at(8), capacity=2)
    make_slot(pool.centre, pool.biontech, at(30), capacity=2, released=False)
    erika, max_ = person(pool), person(pool)
    couple(erika, max_)
    kept = slots_of(max_)

    registration_delete(registration_id=erika.pk)

    erika, max_ = fresh(erika), fresh(max_)
    assert erika.status == RegistrationStatus.DELETED and erika.partner_id is None
    assert max_.partner_id is None and slots_of(max_) == kept
    # the one left can be coupled with someone else
    other = person(pool)
    make_slot(pool.centre, pool.biontech, at(9), capacity=2)
    make_slot(pool.centre, pool.biontech, at(31), capacity=2, released=False)
    couple(max_, other)
    assert slots_of(max_) == slots_of(other)


def test_R19_uncoupled_they_are_on_their_own_again(pool):
    erika, max_ = person(pool), person(pool)
    couple(erika, max_)
    registration_uncouple(registration_id=max_.pk)
    assert fresh(erika).partner_id is None and fresh(max_).partner_id is None
    with pytest.raises(ServiceError) as error:
        registration_uncouple(registration_id=erika.pk)
    assert error.value.code == "not_coupled"
    make_slot(pool.centre, pool.biontech, at(5), capacity=1)
    make_slot(pool.centre, pool.biontech, at(27), capacity=1, released=False)
    assert registrations_assign() == 1  # one seat is enough for one of them now


def test_R19_R25_a_couple_gets_a_short_notice_slot_side_by_side(pool):
    make_slot(pool.centre, pool.biontech, at(1, 9), capacity=1)
    make_slot(pool.centre, pool.biontech, at(23, 9), capacity=1, released=False)
    first = make_slot(pool.centre, pool.biontech, at(2), capacity=2)
    make_slot(pool.centre, pool.biontech, at(24), capacity=2, released=False)
    erika, max_ = person(pool), person(pool, channel="phone", email="")
    couple(erika, max_)
    assert pair_of(erika).appointments.get(dose=1).slot_id == first.pk  # booked at once
    Slot.objects.filter(pk=first.pk).update(start=at(12))  # (the centre moved the session)
    Slot.objects.filter(start=at(24)).update(start=at(34))
    soon = make_slot(pool.centre, pool.biontech, at(3), capacity=2)
    make_slot(pool.centre, pool.biontech, at(25), capacity=2, released=False)

    registration_short_notice(registration_id=erika.pk)

    assert slots_of(erika) == slots_of(max_) and slots_of(erika)[0] == soon.pk
    assert Letter.objects.filter(registration=max_, reason="short_notice").exists()


def test_R27_rebooking_a_single_dose_registration_keeps_one_appointment(pool):
    make_slot(pool.centre, pool.biontech, at(8))
    registration = person(pool, single_dose=True)
    assert registrations_assign() == 1
    later = make_slot(pool.centre, pool.biontech, at(10))
    make_slot(pool.centre, pool.biontech, at(32), released=False)  # a second is free
    assert registration_rebook(registration_id=registration.pk, first_slot_id=later.pk).booked
    assert list(pair_of(registration).appointments.values_list("dose", flat=True)) == [1]


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_R19_a_couple_whose_partner_another_run_holds_waits_for_the_next_run(pool):
    erika, max_ = person(pool), person(pool)
    couple(erika, max_)  # nothing free yet: they wait together
    single = person(pool)
    make_slot(pool.centre, pool.biontech, at(5), capacity=3)
    make_slot(pool.centre, pool.biontech, at(27), capacity=3, released=False)
    locked, release = threading.Event(), threading.Event()

    def hold_max() -> None:
        try:
            with transaction.atomic():
                Registration.objects.select_for_update().get(pk=max_.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as executor:
        holder = executor.submit(hold_max)
        assert locked.wait(timeout=30)
        try:
            assert registrations_assign() == 1  # the single; the couple is skipped, unharmed
        finally:
            release.set()
        holder.result()

    assert fresh(single).status == RegistrationStatus.ASSIGNED
    assert fresh(erika).status == fresh(max_).status == RegistrationStatus.WAITING
    assert registrations_assign() == 2  # the next run
    assert slots_of(erika) == slots_of(max_)
    assert seats_match_appointments()


@pytest.mark.parametrize(
    "replacing", ["ab", [1], [(None, None)], [("x", "reg:1")], [(1, "reg:999")], [(10**6, "reg:1")]]
)
def test_R19_the_engine_moves_only_the_live_pairs_of_the_people_it_books(pool, replacing):
    first = make_slot(pool.centre, pool.biontech, at(5), capacity=2)
    make_slot(pool.centre, pool.biontech, at(27), capacity=2, released=False)
    with pytest.raises(ServiceError) as error:
        pairs_book_adjacent(
            holders=["reg:1", "reg:2"],
            district_id=pool.district.pk,
            first_slot_id=first.pk,
            replacing=replacing,
        )
    assert error.value.code == "unknown_pair"
    assert not AppointmentPair.objects.exists()
