"""Issue 7 item 4, the check-in desk: the day's list, the search (code, Vorgangskennung or
its QR code, name and date of birth; audited), check-in only for today's appointment at
this centre (R5: no walk-ins), the dose recorded once per person with its batch number,
and a second appointment before the first counting as the first (R12)."""

from __future__ import annotations

import datetime as dt
import threading
from unittest import mock

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.urls import reverse

from impftermin.audit.models import AuditEntry
from impftermin.booking.models import Appointment, AppointmentStatus, Slot
from impftermin.booking.services import pair_cancel
from impftermin.codes.services import code_cancel, codes_book_by_phone
from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import grouped
from impftermin.registrations.services import registration_book
from impftermin.staff import roles
from impftermin.staff.services import roles_setup
from impftermin.vaccinations.models import Vaccination
from impftermin.vaccinations.services import (
    age_group,
    person_check_in,
    second_appointment_book,
    vaccination_record,
)
from tests.factories import at, make_slot
from tests.registrations.helpers import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse(world):
    roles_setup()
    user = User.objects.create_user("pfleger", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.CENTRE_STAFF.group))
    world.centre.staff.add(user)
    return user


@pytest.fixture
def slots(world):
    return {
        "first": make_slot(world.centre, world.biontech, at(3, 9), capacity=4),
        "second": make_slot(world.centre, world.biontech, at(25, 9), capacity=4, released=False),
    }


def _codes_pair(world, slots):
    booked = codes_book_by_phone(
        region_id=world.region.pk,
        vaccine_id=world.biontech.pk,
        party_size=1,
        district_id=world.district.pk,
        first_slot_id=slots["first"].pk,
        second_slot_id=slots["second"].pk,
    )
    assert booked.result.booked
    return booked.people[0].codes, booked.result.pairs[0]


def _on(slot):
    """The clock on the day of `slot`, a little before it."""
    return mock.patch(
        "django.utils.timezone.now", return_value=slot.start - dt.timedelta(minutes=20)
    )


def _first(pair) -> Appointment:
    return pair.appointments.get(dose=1)


def test_R5_check_in_only_for_todays_appointment_at_this_centre(world, slots, nurse):
    _codes, pair = _codes_pair(world, slots)
    appointment = _first(pair)
    with pytest.raises(ServiceError) as refused:  # not today
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=appointment.pk)
    assert refused.value.code == "not_today"
    with _on(slots["first"]):
        with pytest.raises(ServiceError) as refused:  # not this nurse's centre
            person_check_in(
                user=nurse, centre_id=world.other_centre.pk, appointment_id=appointment.pk
            )
        assert refused.value.code == "not_centre_staff"
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=appointment.pk)
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=appointment.pk)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN


def test_R5_a_cancelled_appointment_is_a_walk_in(world, slots, nurse):
    _codes, pair = _codes_pair(world, slots)
    pair_cancel(pair_id=pair.pk, holder=pair.holder)
    with _on(slots["first"]), pytest.raises(ServiceError) as refused:
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=_first(pair).pk)
    assert refused.value.code == "not_today"


def test_the_dose_is_recorded_once_with_its_batch_number(world, slots, nurse):
    _codes, pair = _codes_pair(world, slots)
    appointment = _first(pair)
    with _on(slots["first"]):
        with pytest.raises(ServiceError) as refused:  # check in first
            vaccination_record(
                user=nurse,
                centre_id=world.centre.pk,
                appointment_id=appointment.pk,
                batch_number="EX1234",
            )
        assert refused.value.code == "not_checked_in"
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=appointment.pk)
        for bad in ("", "x", "<script>", "A" * 41, None, 12):
            with pytest.raises(ServiceError) as refused:
                vaccination_record(
                    user=nurse,
                    centre_id=world.centre.pk,
                    appointment_id=appointment.pk,
                    batch_number=bad,
                )
            assert refused.value.code == "batch_number"
        vaccination = vaccination_record(
            user=nurse,
            centre_id=world.centre.pk,
            appointment_id=appointment.pk,
            batch_number=" ex 1234 ",
        )
        with pytest.raises(ServiceError) as refused:
            vaccination_record(
                user=nurse,
                centre_id=world.centre.pk,
                appointment_id=appointment.pk,
                batch_number="EX1234",
            )
        assert refused.value.code == "already_vaccinated"
    assert (vaccination.dose, vaccination.batch_number, vaccination.staff) == (1, "EX1234", nurse)
    assert vaccination.age_group == "unbekannt"  # codes bookings keep no date of birth
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.VACCINATED
    details = set(AuditEntry.objects.filter(user=nurse).values_list("detail", flat=True))
    assert {"checked in", "vaccinated dose 1"} <= details


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_desks_recording_the_same_dose_at_once_record_it_once(world, slots, nurse):
    _codes, pair = _codes_pair(world, slots)
    appointment = _first(pair)
    results = []
    with _on(slots["first"]):
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=appointment.pk)
        barrier = threading.Barrier(2)

        def record():
            try:
                barrier.wait()
                vaccination_record(
                    user=nurse,
                    centre_id=world.centre.pk,
                    appointment_id=appointment.pk,
                    batch_number="EX1234",
                )
                results.append("recorded")
            except ServiceError as error:
                results.append(error.code)
            finally:
                connection.close()

        threads = [threading.Thread(target=record) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results) == ["already_vaccinated", "recorded"]
    assert Vaccination.objects.count() == 1


def test_R12_a_second_appointment_before_the_first_counts_as_the_first(world, slots, nurse):
    _codes, pair = _codes_pair(world, slots)
    first, second = _first(pair), pair.appointments.get(dose=2)
    # As when a letter's dates and the phone's disagree: the "second" lies first.
    Appointment.objects.filter(pk=first.pk).update(slot=slots["second"])
    Appointment.objects.filter(pk=second.pk).update(slot=slots["first"])
    with _on(slots["first"]):
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=second.pk)
        given = vaccination_record(
            user=nurse, centre_id=world.centre.pk, appointment_id=second.pk, batch_number="EX1"
        )
    assert given.dose == 1
    with _on(slots["second"]):
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=first.pk)
        given = vaccination_record(
            user=nurse, centre_id=world.centre.pk, appointment_id=first.pk, batch_number="EX2"
        )
    assert given.dose == 2


# --- the desk's pages -------------------------------------------------------------------------


def _desk(world) -> str:
    return reverse("vaccinations:desk", args=[world.centre.pk])


def test_the_day_list_and_the_search_by_code(world, slots, nurse, staff_client):
    codes, pair = _codes_pair(world, slots)
    client = staff_client(nurse)
    with _on(slots["first"]):
        assert client.get(reverse("vaccinations:centres"))["Location"] == _desk(world)
        page = client.get(_desk(world)).content.decode()
        assert "mit Vermittlungscode" in page and "1. Impfung" in page
        page = client.post(_desk(world), {"code": codes[0].lower()}).content.decode()
        assert f'id="gefunden-termin-{_first(pair).pk}"' in page
        page = client.post(_desk(world), {"code": "ABCD-EFGH-JKMN"}).content.decode()
        assert "Ohne Termin wird nicht geimpft" in page
        response = client.post(
            reverse("vaccinations:check_in", args=[world.centre.pk]),
            {"appointment": _first(pair).pk},
        )
        assert response.status_code == 302
        response = client.post(
            reverse("vaccinations:vaccinate", args=[world.centre.pk]),
            {"appointment": _first(pair).pk, "batch_number": "EX1234"},
        )
        page = client.get(_desk(world)).content.decode()
        assert "Charge EX1234" in page and "geimpft" in page
    assert Vaccination.objects.get().batch_number == "EX1234"
    assert AuditEntry.objects.filter(user=nurse, action="lookup").count() == 2
    assert AuditEntry.objects.filter(user=nurse, action="view").exists()


def test_search_by_vorgangskennung_qr_or_name_and_birth_date(pool, slots, nurse, staff_client):
    registration = register(pool, email="")
    result = registration_book(
        registration_id=registration.pk,
        first_slot_id=slots["first"].pk,
        second_slot_id=slots["second"].pk,
    )
    assert result.booked
    client = staff_client(nurse)
    with _on(slots["first"]):
        page = client.get(_desk(pool)).content.decode()
        assert "Muster, Erika" in page and "geb. 15.03.1950" in page
        for query in (
            {"vorgangskennung": registration.vorgangskennung},  # as the QR scanner types it
            {"vorgangskennung": grouped(registration.vorgangskennung).lower()},
            {"last_name": "muster", "birth_date": "15.03.1950"},
        ):
            page = client.post(_desk(pool), query).content.decode()
            assert 'id="gefunden-termin-' in page, query
        page = client.post(_desk(pool), {"last_name": "Muster"}).content.decode()
        assert "Nachname und Geburtsdatum" in page and 'id="gefunden-termin-' not in page


@pytest.mark.parametrize(
    "data",
    [
        {"appointment": "abc"},
        {"appointment": "999999"},
        {"appointment": "-1"},
        {"appointment": "1" * 30},
        {},
    ],
)
def test_bad_requests_change_nothing_and_never_fail(world, slots, nurse, staff_client, data):
    _codes, pair = _codes_pair(world, slots)
    client = staff_client(nurse)
    with _on(slots["first"]):
        for name in ("check_in", "vaccinate"):
            response = client.post(reverse(f"vaccinations:{name}", args=[world.centre.pk]), data)
            assert response.status_code == 302
        page = client.get(_desk(world)).content.decode()
    assert 'class="kern-alert kern-alert--danger"' in page
    assert not Vaccination.objects.exists()
    assert _first(pair).status == AppointmentStatus.BOOKED


def test_only_the_centres_own_staff_use_the_desk(world, slots, nurse, staff_client):
    roles_setup()
    agent = User.objects.create_user("agent", password="x", is_staff=True)
    agent.groups.add(Group.objects.get(name=roles.AGENT.group))
    assert staff_client(agent).get(_desk(world)).status_code == 403
    other = reverse("vaccinations:desk", args=[world.other_centre.pk])
    assert staff_client(nurse).get(other).status_code == 404


def _first_only(world, slots):
    """R6: booked while no second-dose seat was free; the seat frees up later."""
    second = slots["second"]
    Slot.objects.filter(pk=second.pk).update(booked=second.capacity)
    booked = codes_book_by_phone(
        region_id=world.region.pk,
        vaccine_id=world.biontech.pk,
        party_size=1,
        district_id=world.district.pk,
        first_slot_id=slots["first"].pk,
    )
    Slot.objects.filter(pk=second.pk).update(booked=0)
    pair = booked.result.pairs[0]
    assert pair.second_dose_at_centre and not pair.appointments.filter(dose=2).exists()
    return pair


def test_R6_the_missing_second_appointment_is_booked_on_site(world, slots, nurse, staff_client):
    pair = _first_only(world, slots)
    appointment = _first(pair)
    client = staff_client(nurse)
    url = reverse("vaccinations:second_appointment", args=[world.centre.pk])
    with _on(slots["first"]):
        client.post(
            reverse("vaccinations:check_in", args=[world.centre.pk]),
            {"appointment": appointment.pk},
        )
        page = client.get(_desk(world)).content.decode()
        assert "Zweittermin (noch keiner gebucht)" in page
        assert f'<option value="{slots["second"].pk}">' in page
        too_early = make_slot(world.centre, world.biontech, at(5, 9), capacity=4)
        client.post(url, {"appointment": appointment.pk, "second_slot": too_early.pk})
        assert not pair.appointments.filter(dose=2).exists()
        response = client.post(
            url, {"appointment": appointment.pk, "second_slot": slots["second"].pk}
        )
        assert response.status_code == 302
        page = client.get(_desk(world)).content.decode()
        assert "Zweittermin (noch keiner gebucht)" not in page
    second = pair.appointments.get(dose=2)
    assert second.slot == slots["second"]
    pair.refresh_from_db()
    assert not pair.second_dose_at_centre
    slots["second"].refresh_from_db()
    assert slots["second"].booked == 1
    with _on(slots["first"]), pytest.raises(ServiceError) as refused:
        second_appointment_book(
            user=nurse,
            centre_id=world.centre.pk,
            appointment_id=appointment.pk,
            second_slot_id=slots["second"].pk,
        )
    assert refused.value.code == "second_not_needed"
    assert AuditEntry.objects.filter(detail="second appointment booked at the centre").exists()


def test_R6_a_full_slot_is_refused_and_nothing_changes(world, slots, nurse):
    pair = _first_only(world, slots)
    full = make_slot(world.centre, world.biontech, at(26, 9), capacity=1, booked=1, released=False)
    with _on(slots["first"]):
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=_first(pair).pk)
        with pytest.raises(ServiceError) as refused:
            second_appointment_book(
                user=nurse,
                centre_id=world.centre.pk,
                appointment_id=_first(pair).pk,
                second_slot_id=full.pk,
            )
    assert refused.value.code == "slot_full"
    assert not pair.appointments.filter(dose=2).exists()


@pytest.mark.parametrize(
    "born, group",
    [
        (dt.date(2015, 6, 1), "0-11"),
        (dt.date(2014, 6, 1), "12-17"),  # 12 on the day
        (dt.date(2008, 6, 2), "12-17"),  # 18 tomorrow
        (dt.date(2008, 6, 1), "18-59"),
        (dt.date(1966, 6, 2), "18-59"),
        (dt.date(1966, 6, 1), "60+"),
        (None, "unbekannt"),
    ],
)
def test_age_groups_for_the_counts(born, group):
    assert age_group(born, dt.date(2026, 6, 1)) == group


def test_the_record_keeps_only_an_age_group(pool, slots, nurse):
    registration = register(pool, email="")  # born 1950
    registration_book(
        registration_id=registration.pk,
        first_slot_id=slots["first"].pk,
        second_slot_id=slots["second"].pk,
    )
    appointment = Appointment.objects.get(pair__holder=registration.holder, dose=1)
    with _on(slots["first"]):
        person_check_in(user=nurse, centre_id=pool.centre.pk, appointment_id=appointment.pk)
        given = vaccination_record(
            user=nurse, centre_id=pool.centre.pk, appointment_id=appointment.pk, batch_number="EX9"
        )
    assert given.age_group == "60+"


def test_a_pair_under_way_cannot_be_cancelled_to_book_a_second_first_dose(world, slots, nurse):
    codes, pair = _codes_pair(world, slots)
    with _on(slots["first"]):
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=_first(pair).pk)
        with pytest.raises(ServiceError) as refused:
            code_cancel(code=codes[0])
    assert refused.value.code == "pair_in_progress"


def test_the_second_dose_is_not_given_before_the_interval(world, slots, nurse):
    _codes, pair = _codes_pair(world, slots)
    early = make_slot(world.centre, world.biontech, at(10, 9), capacity=2, released=False)
    with _on(slots["first"]):
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=_first(pair).pk)
        vaccination_record(
            user=nurse,
            centre_id=world.centre.pk,
            appointment_id=_first(pair).pk,
            batch_number="EX1",
        )
    second = pair.appointments.get(dose=2)
    Appointment.objects.filter(pk=second.pk).update(slot=early)  # e.g. moved by hand
    with _on(early), pytest.raises(ServiceError) as refused:
        person_check_in(user=nurse, centre_id=world.centre.pk, appointment_id=second.pk)
        vaccination_record(
            user=nurse, centre_id=world.centre.pk, appointment_id=second.pk, batch_number="EX2"
        )
    assert refused.value.code == "too_early"
    assert Vaccination.objects.count() == 1


def test_every_pair_on_the_day_list_is_audited(world, slots, nurse, staff_client):
    _codes, pair = _codes_pair(world, slots)
    with _on(slots["first"]):
        staff_client(nurse).get(_desk(world))
    entry = AuditEntry.objects.get(user=nurse, action="view")
    assert entry.which == str(pair.pk) and entry.what == "appointment_pair"


@pytest.mark.parametrize("value", ["²", "\N{ARABIC-INDIC DIGIT ONE}", "9" * 40, " 1"])
def test_odd_numbers_never_fail(world, slots, nurse, staff_client, value):
    client = staff_client(nurse)
    for name in ("check_in", "vaccinate", "second_appointment"):
        response = client.post(
            reverse(f"vaccinations:{name}", args=[world.centre.pk]), {"appointment": value}
        )
        assert response.status_code == 302
