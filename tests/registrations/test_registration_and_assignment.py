"""Registration (R13 to R15, R21, R27), the population-register check (R14) and the
assignment engine (R16), the Hessen way."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from impftermin.booking.models import Appointment, AppointmentPair, PairStatus, Slot
from impftermin.booking.services import pair_book
from impftermin.core import identifiers
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.registrations.models import Registration, RegistrationStatus
from impftermin.registrations.services import (
    normalise_vorgangskennung,
    registration_delete,
    registration_pair_cancel,
    registration_rebook,
    registration_review_decide,
    registrations_assign,
)
from tests.factories import at, make_slot
from tests.mail import run_worker
from tests.registrations.helpers import PASSWORD, register

# --- registration ------------------------------------------------------------------------


def test_R15_online_registration_gets_a_vorgangskennung_and_an_argon2_password(pool):
    registration = register(pool)
    assert registration.status == RegistrationStatus.WAITING  # the register confirmed it
    assert identifiers.has_valid_check(registration.vorgangskennung)
    assert (
        normalise_vorgangskennung(identifiers.grouped(registration.vorgangskennung).lower())
        == registration.vorgangskennung
    )
    assert registration.password.startswith("argon2")
    assert check_password(PASSWORD, registration.password)


def test_R13_several_registrations_share_one_email_also_for_someone_else(pool):
    register(pool)
    other = register(
        pool,
        first_name="Max",
        birth_date=dt.date(1948, 11, 2),
        for_someone_else=True,
        street="Rheinstrasse 12",  # written another way: the register still matches
    )
    assert other.status == RegistrationStatus.WAITING and other.for_someone_else
    assert Registration.objects.filter(email="erika@example.org").count() == 2


def test_R13_the_same_person_twice_is_refused(pool):
    register(pool)
    with pytest.raises(ServiceError) as error:
        register(pool, first_name=" erika ", email="")
    assert error.value.code == "duplicate_registration"


def test_R14_a_registration_the_register_does_not_confirm_is_held_for_review(pool):
    unknown = register(pool, first_name="Erik", birth_date=dt.date(1951, 3, 15))
    assert unknown.status == RegistrationStatus.REVIEW
    assert "nicht im Melderegister" in unknown.review_reason
    moved = register(
        pool,
        first_name="Jürgen",
        last_name="Weiss",
        birth_date=dt.date(1939, 12, 24),
        street="Luisenplatz 1",
    )
    assert moved.status == RegistrationStatus.WAITING  # ß and ss are the same name
    elsewhere = register(
        pool,
        first_name="Max",
        birth_date=dt.date(1948, 11, 2),
        street="Domplatz 1",
    )
    assert elsewhere.status == RegistrationStatus.REVIEW
    assert "anderen Anschrift" in elsewhere.review_reason
    # held, not lost: never assigned while in review; an operator decides
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(27), released=False)
    assert registrations_assign() == 1  # only Jürgen
    assert registration_review_decide(registration_id=unknown.pk, confirm=True).status == (
        RegistrationStatus.WAITING
    )
    refused = registration_review_decide(registration_id=elsewhere.pk, confirm=False)
    refused.refresh_from_db()
    assert refused.status == RegistrationStatus.DELETED
    assert refused.last_name == "" and refused.email == "" and refused.password == ""


def test_R21_a_phone_registration_has_no_password(pool):
    registration = register(pool, channel="phone", password=None, email="")
    assert registration.password == "" and registration.channel == "phone"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"postcode": "99999"}, "postcode_unknown"),
        ({"postcode": "48x43"}, "postcode_invalid"),
        ({"residence": "holiday"}, "residence_invalid"),
        ({"first_name": "   "}, "required"),
        ({"last_name": "A" * 101}, "text_invalid"),
        ({"street": "Rheinstraße\x0012"}, "text_invalid"),
        ({"email": "no-address"}, "email_invalid"),
        ({"mobile": "12"}, "mobile_invalid"),
        ({"password": "123"}, "password_weak"),
        ({"password": ""}, "password_missing"),
        ({"birth_date": dt.date(2015, 1, 1)}, "vaccine_not_eligible"),
        ({"birth_date": "1950-03-15"}, "birth_date_invalid"),
        ({"centre_id": "x"}, "unknown_centre"),
        ({"channel": "assignment"}, "channel_invalid"),
    ],
)
def test_bad_registration_input_is_refused_and_nothing_stored(pool, fields, code):
    with pytest.raises(ServiceError) as error:
        register(pool, **fields)
    assert error.value.code == code
    assert not Registration.objects.exists()


def test_a_centre_of_another_district_cannot_be_chosen(pool):
    with pytest.raises(ServiceError) as error:
        register(pool, centre_id=pool.other_centre.pk)
    assert error.value.code == "centre_not_in_district"


@given(st.text(alphabet=identifiers.ALPHABET, min_size=11, max_size=11), st.data())
def test_a_vorgangskennung_with_one_typo_or_two_swapped_characters_is_refused(body, data):
    full = body + identifiers.check_character(body)
    i = data.draw(st.integers(0, 11))
    typo = data.draw(st.sampled_from([c for c in identifiers.ALPHABET if c != full[i]]))
    assert not identifiers.has_valid_check(full[:i] + typo + full[i + 1 :])
    j = data.draw(st.integers(0, 10))
    if full[j] != full[j + 1]:
        assert not identifiers.has_valid_check(full[:j] + full[j + 1] + full[j] + full[j + 2 :])


# --- assignment ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_R16_assignment_first_come_first_served_within_capacity_and_interval(pool):
    first = make_slot(pool.centre, pool.biontech, at(5), capacity=2)
    second = make_slot(pool.centre, pool.biontech, at(27), capacity=2, released=False)
    people = [
        register(pool),
        register(pool, first_name="Max", birth_date=dt.date(1948, 11, 2)),
        register(
            pool,
            first_name="Jürgen",
            last_name="Weiß",
            birth_date=dt.date(1939, 12, 24),
            street="Luisenplatz 1",
        ),
    ]
    assert registrations_assign() == 2
    statuses = [Registration.objects.get(pk=p.pk).status for p in people]
    assert statuses == ["assigned", "assigned", "waiting"]  # the last one waits
    for slot in (first, second):
        slot.refresh_from_db()
        assert slot.booked == 2
    pair = AppointmentPair.objects.get(holder=people[0].holder)
    assert pair.channel == "assignment"
    assert {a.slot_id for a in pair.appointments.all()} == {first.pk, second.pk}
    # the mails are composed by the task the assignment enqueued, and sent by the worker
    assert not OutboundMessage.objects.exists()
    run_worker()
    mails = OutboundMessage.objects.filter(kind="booking_confirmation")
    assert sorted(m.recipient for m in mails) == ["erika@example.org"] * 2
    assert all("zugewiesen" in m.body and m.status == "sent" for m in mails)
    # more capacity later: the one waiting is assigned in the next run
    make_slot(pool.centre, pool.biontech, at(6), capacity=1)
    make_slot(pool.centre, pool.biontech, at(28), capacity=1, released=False)
    assert registrations_assign() == 1


def test_R27_recovered_persons_get_one_appointment(pool):
    make_slot(pool.centre, pool.biontech, at(5))
    registration = register(pool, single_dose=True)
    assert registrations_assign() == 1
    pair = AppointmentPair.objects.get(holder=registration.holder)
    assert list(pair.appointments.values_list("dose", flat=True)) == [1]


def test_R16_no_pair_without_a_second_dose_in_the_interval(pool):
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(20), released=False)  # too early for dose 2
    register(pool)
    assert registrations_assign() == 0
    assert not AppointmentPair.objects.exists()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_R16_assignment_racing_itself_and_online_bookings_never_overbooks(pool):
    firsts = [make_slot(pool.centre, pool.biontech, at(5, 8 + i), capacity=3) for i in range(4)]
    for i in range(4):
        make_slot(pool.centre, pool.biontech, at(27, 8 + i), capacity=3, released=False)
    people = []
    for n in range(14):
        people.append(
            Registration.objects.create(
                vorgangskennung=f"TEST{n:08d}",
                region=pool.region,
                district=pool.district,
                centre=pool.centre,
                vaccine=pool.biontech,
                first_name="P",
                last_name=str(n),
                birth_date=dt.date(1950, 1, 1),
                street="S",
                postcode="48143",
                city="M",
                residence="first",
                channel="online",
                identity_key=f"k{n}",
            )
        )
    barrier = threading.Barrier(8)

    def work(i: int):
        try:
            barrier.wait(timeout=30)
            if i < 4:
                return registrations_assign(batch_size=3)
            return pair_book(
                holder=f"online:{i}",
                district_id=pool.district.pk,
                first_slot_id=firsts[i % 4].pk,
            ).booked
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as executor:
        list(executor.map(work, range(8)))
    # A run that lost a race leaves those people waiting, not lost: the next run fills
    # every seat that is left.
    registrations_assign()
    for slot in Slot.objects.all():
        live = Appointment.objects.filter(slot=slot, pair__status=PairStatus.BOOKED).count()
        assert slot.booked == live <= slot.capacity
    assigned = Registration.objects.filter(status=RegistrationStatus.ASSIGNED)
    assert assigned.count() == AppointmentPair.objects.filter(holder__startswith="reg:").count()
    assert AppointmentPair.objects.filter(status=PairStatus.BOOKED).count() == 12  # all seats


def test_R14_an_operator_decides_on_a_held_registration_in_the_admin(pool, admin_client):
    held = register(pool, first_name="Erik", birth_date=dt.date(1951, 3, 15))
    page = admin_client.get("/admin/registrations/registration/?status=review")
    assert held.vorgangskennung in page.content.decode()
    response = admin_client.post(
        "/admin/registrations/registration/",
        {"action": "confirm", "_selected_action": [held.pk]},
        follow=True,
    )
    assert response.status_code == 200
    held.refresh_from_db()
    assert held.status == RegistrationStatus.WAITING


def test_R13_the_same_person_written_another_way_is_still_the_same(pool):
    register(pool, first_name="Jürgen", last_name="Weiß", birth_date=dt.date(1939, 12, 24))
    with pytest.raises(ServiceError) as error:
        register(pool, first_name="Jurgen", last_name="Weiss", birth_date=dt.date(1939, 12, 24))
    assert error.value.code == "duplicate_registration"


def test_R14_a_register_that_fails_holds_the_registration_for_review(pool, settings):
    settings.POPULATION_REGISTER_FILE = "/nonexistent/register.csv"
    registration = register(pool)
    assert registration.status == RegistrationStatus.REVIEW
    assert "nicht erreichbar" in registration.review_reason


@pytest.mark.parametrize(
    "fields",
    [
        {"email": 42},
        {"email": ["a@example.org"]},
        {"email": "a" * 250 + "@example.org"},
        {"language": ["de"]},
    ],
)
def test_registration_input_of_the_wrong_type_is_refused_cleanly(pool, fields):
    with pytest.raises(ServiceError):
        register(pool, **fields)
    assert not Registration.objects.exists()


def test_a_vaccine_the_chosen_centre_does_not_offer_is_refused(pool):
    with pytest.raises(ServiceError) as error:
        register(pool, vaccine_id=pool.janssen.pk)  # offered nowhere in the test world
    assert error.value.code == "vaccine_not_eligible"


def test_R16_R27_one_and_two_dose_people_of_a_centre_are_served_in_their_order(pool):
    make_slot(pool.centre, pool.biontech, at(5), capacity=2)
    make_slot(pool.centre, pool.biontech, at(27), capacity=1, released=False)
    recovered = register(pool, single_dose=True)  # came first
    two_doses = register(pool, first_name="Max", birth_date=dt.date(1948, 11, 2))
    assert registrations_assign() == 2
    doses = {
        r.holder: sorted(
            AppointmentPair.objects.get(holder=r.holder).appointments.values_list("dose", flat=True)
        )
        for r in (recovered, two_doses)
    }
    assert doses == {recovered.holder: [1], two_doses.holder: [1, 2]}


# --- the person's own changes (R20, R22, R23) --------------------------------------------


@pytest.fixture
def assigned(pool):
    first = make_slot(pool.centre, pool.biontech, at(10), capacity=1)
    make_slot(pool.centre, pool.biontech, at(32), capacity=1, released=False)
    registration = register(pool)
    assert registrations_assign() == 1
    registration.refresh_from_db()
    return registration, first


def test_R22_cancel_keeps_the_registration_in_the_pool_and_it_is_assigned_again(pool, assigned):
    registration, first = assigned
    registration_pair_cancel(registration_id=registration.pk)
    registration.refresh_from_db()
    first.refresh_from_db()
    assert registration.status == RegistrationStatus.WAITING and first.booked == 0
    assert OutboundMessage.objects.filter(kind="booking_cancelled").count() == 1
    assert registrations_assign() == 1  # the freed seats, or others: a new assignment
    assert AppointmentPair.objects.filter(
        holder=registration.holder, status=PairStatus.BOOKED
    ).exists()


def test_R20_rebook_into_the_future_up_to_three_days_before(pool, assigned):
    registration, _first = assigned
    later = make_slot(pool.centre, pool.biontech, at(12))
    later_second = make_slot(pool.centre, pool.biontech, at(34), released=False)
    result = registration_rebook(
        registration_id=registration.pk, first_slot_id=later.pk, second_slot_id=later_second.pk
    )
    assert result.booked
    assert OutboundMessage.objects.filter(kind="booking_rebooked").count() == 1


def test_R20_rebook_into_the_past_or_too_late_is_refused(pool):
    soon = make_slot(pool.centre, pool.biontech, at(2))
    make_slot(pool.centre, pool.biontech, at(24), released=False)
    registration = register(pool)
    assert registrations_assign() == 1
    past = make_slot(pool.centre, pool.biontech, at(-1))
    other = make_slot(pool.centre, pool.biontech, at(9))
    with pytest.raises(ServiceError) as error:
        registration_rebook(registration_id=registration.pk, first_slot_id=other.pk)
    assert error.value.code == "rebook_too_late"  # the pair is 2 days away
    soon.refresh_from_db()
    assert soon.booked == 1
    Slot.objects.filter(pk=soon.pk).update(start=at(20))
    Slot.objects.filter(appointments__dose=2).update(start=at(42))
    with pytest.raises(ServiceError) as error:
        registration_rebook(registration_id=registration.pk, first_slot_id=past.pk)
    assert error.value.code == "slot_in_past"


def test_R23_delete_cancels_erases_and_never_assigns_again(pool, assigned):
    registration, first = assigned
    registration_delete(registration_id=registration.pk)
    registration.refresh_from_db()
    first.refresh_from_db()
    assert registration.status == RegistrationStatus.DELETED and first.booked == 0
    assert registration.last_name == "" and registration.email == ""
    assert registration.birth_date == dt.date(1900, 1, 1)
    mail = OutboundMessage.objects.get(kind="registration_deleted")
    assert registration.vorgangskennung[:4] in mail.body
    assert registrations_assign() == 0
    with pytest.raises(ServiceError):
        registration_delete(registration_id=registration.pk)
    # the person may register anew
    assert register(pool).status == RegistrationStatus.WAITING


def test_R22_a_pair_cancelled_in_the_back_office_puts_the_registration_back_in_the_pool(pool):
    from impftermin.booking.services import pair_cancel

    make_slot(pool.centre, pool.biontech, at(5), capacity=1)
    make_slot(pool.centre, pool.biontech, at(27), capacity=1, released=False)
    registration = register(pool)
    assert registrations_assign() == 1
    pair = AppointmentPair.objects.get(holder=registration.holder)
    pair_cancel(pair_id=pair.pk, holder=registration.holder)  # as the admin's action does
    other = register(pool, first_name="Max", birth_date=dt.date(1948, 11, 2))
    assert registrations_assign() == 1  # one seat: the older registration gets it again
    registration.refresh_from_db()
    other.refresh_from_db()
    assert registration.status == RegistrationStatus.ASSIGNED
    assert other.status == RegistrationStatus.WAITING
