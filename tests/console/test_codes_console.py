"""The call-center console in a codes-mode region (issue 6 item 2; R1, R4, R7, R12): an
agent books for a caller without e-mail and reads the codes out, finds the booking only by
its code, rebooks and cancels it; couples side by side; throttled wrong codes; access and
the audit log."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import translation

from impftermin.audit.models import AuditEntry
from impftermin.booking.models import AppointmentPair
from impftermin.codes.models import CodeSet
from impftermin.codes.services import code_rebook, code_set_for, codes_book_by_phone
from impftermin.console import codes_services, codes_views
from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import spelled
from impftermin.notifications.models import OutboundMessage
from impftermin.staff.roles import AGENT, CENTRE_STAFF
from impftermin.staff.services import roles_setup
from tests.console.helpers import assert_shortcuts
from tests.factories import at, make_postcode, make_slot

CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")
URLS = [
    "codes_book",
    "codes_book_times",
    "codes_lookup",
    "codes_booking",
    "codes_rebook",
    "codes_cancel",
    "codes_call_end",
]


def _staff(username: str, role) -> object:
    roles_setup()
    user = get_user_model().objects.create_user(
        username=username, password="a long test password 1", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role.group))
    return user


@pytest.fixture
def agent(db):
    return _staff("agent", AGENT)


@pytest.fixture
def console(agent, staff_client):
    return staff_client(agent)


@pytest.fixture
def place(world):
    make_postcode("48143", world.district)
    return world


@pytest.fixture
def slots(place):
    first = make_slot(place.centre, place.biontech, at(5), capacity=2)
    later = make_slot(place.centre, place.biontech, at(6), capacity=2)
    second = make_slot(place.centre, place.biontech, at(27), capacity=4, released=False)
    later_second = make_slot(place.centre, place.biontech, at(28), capacity=4, released=False)
    return first, later, second, later_second


def _url(name: str) -> str:
    return reverse(f"console:{name}")


def _book(client, slot, second, *, birth_dates=("01.01.1980",), email="", reason="Terminbuchung"):
    data = {"postcode": "48143", "email": email, "reason": reason}
    for n, birth_date in enumerate(birth_dates, start=1):
        data[f"birth_date_{n}"] = birth_date
    response = client.post(_url("codes_book"), data)
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == _url("codes_book_times")
    day = slot.start.date().isoformat()
    page = client.get(_url("codes_book_times"), {"tag": day})
    assert f'value="{slot.pk}-{second.pk}"' in page.content.decode()
    nonce = client.session[codes_views.BOOK]["value"]["nonce"]
    return client.post(
        _url("codes_book_times"),
        {"option": f"{slot.pk}-{second.pk}", "nonce": nonce, "tag": day},
    )


def _look_up(client, code, reason="Auskunft"):
    return client.post(_url("codes_lookup"), {"code": code, "reason": reason})


def _audit(action, what, why=None):
    entries = AuditEntry.objects.filter(action=action, what=what)
    return entries.filter(why=why) if why is not None else entries


def test_spelled_reads_codes_aloud_in_german_and_english():
    assert spelled("ABC2-XY9") == "Anton Berta Cäsar Zwei \N{EN DASH} Xanthippe Ypsilon Neun"
    assert spelled("KQZ7", "en") == "Kilo Quebec Zulu Seven"


def test_R1_agent_books_a_pair_without_email_and_reads_the_codes(console, slots):
    first, _later, second, _ls = slots
    response = _book(console, first, second)
    assert response.status_code == 200
    page = response.content.decode()
    codes = CODE.findall(page)
    assert len(codes) == 2  # 1st and 2nd appointment
    for code in codes:
        assert spelled(code) in page  # spelled for reading aloud (DIN 5009)
    code_set = code_set_for(codes[0])
    assert code_set.channel == "phone" and code_set.pin_request is None
    assert code_set.email == ""
    pair = AppointmentPair.objects.get(holder=code_set.holder)
    assert pair.channel == "phone"
    assert not OutboundMessage.objects.filter(channel="email").exists()  # R1: no mail
    assert not OutboundMessage.objects.exists()
    assert _audit("change", "appointment_pair", "Terminbuchung").get().which == str(pair.pk)


def test_R1_with_an_email_the_caller_gets_a_confirmation(console, slots):
    first, _later, second, _ls = slots
    _book(console, first, second, email="caller@example.org")
    assert OutboundMessage.objects.filter(channel="email", recipient="caller@example.org").exists()


def test_R7_a_couple_is_booked_side_by_side_with_two_code_sets(console, slots):
    first, _later, second, _ls = slots
    response = _book(console, first, second, birth_dates=("01.01.1960", "02.02.1962"))
    codes = CODE.findall(response.content.decode())
    assert len(codes) == 4  # two people, two codes each
    sets = {code_set_for(code).pk for code in codes}
    assert len(sets) == 2
    pairs = AppointmentPair.objects.filter(holder__in=[f"codes:{pk}" for pk in sets])
    assert pairs.count() == 2
    assert len({p.party for p in pairs}) == 1 and pairs[0].party is not None
    first.refresh_from_db()
    assert first.booked == 2
    assert _audit("change", "appointment_pair").count() == 2


def test_R4_look_up_by_code_then_rebook_and_cancel_with_the_reason(console, slots):
    first, later, second, later_second = slots
    codes = CODE.findall(_book(console, first, second).content.decode())
    console.post(_url("codes_call_end"))
    code_set = code_set_for(codes[1])  # either code will do

    response = _look_up(console, codes[1].lower().replace("-", " "), reason="Umbuchung")
    assert response.status_code == 302 and response["Location"] == _url("codes_booking")
    lookup = _audit("lookup", "booking_code", "Umbuchung").get()
    assert lookup.which == str(code_set.pk)
    page = console.get(_url("codes_booking")).content.decode()
    assert "Termin umbuchen" in page
    assert _audit("view", "appointment_pair", "Umbuchung").exists()

    response = console.post(_url("codes_booking"), {"action": "rebook"})
    assert response["Location"] == _url("codes_rebook")
    day = later.start.date().isoformat()
    assert f'value="{later.pk}-' in console.get(_url("codes_rebook"), {"tag": day}).content.decode()
    nonce = console.session[codes_views.REBOOK]["value"]["nonce"]
    response = console.post(
        _url("codes_rebook"),
        {"option": f"{later.pk}-{later_second.pk}", "nonce": nonce, "tag": day},
    )
    assert response.status_code == 302
    pair = AppointmentPair.objects.get(holder=code_set.holder, status="booked")
    assert pair.appointments.get(dose=1).slot == later
    assert pair.channel == "phone"
    assert _audit("change", "appointment_pair", "Umbuchung").filter(which=str(pair.pk)).exists()

    response = _look_up(console, codes[0], reason="Stornierung")
    assert console.get(_url("codes_cancel")).status_code == 200
    response = console.post(_url("codes_cancel"))
    assert response.status_code == 200
    pair.refresh_from_db()
    assert pair.status != "booked"
    assert _audit("change", "appointment_pair", "Stornierung").filter(which=str(pair.pk)).exists()
    assert codes_views.CALL not in console.session  # nothing of the call stays
    assert not OutboundMessage.objects.exists()  # no e-mail given: no cancellation mail


def test_R4_no_search_by_name_birth_date_or_phone(console, slots):
    first, _later, second, _ls = slots
    _book(console, first, second)
    form = codes_views.forms.LookupForm()
    assert set(form.fields) == {"code", "reason"}
    for extra in (
        {"name": "Erika Mustermann"},
        {"birth_date": "01.01.1980"},
        {"phone": "0151 11111111", "mobile": "0151 11111111"},
    ):
        response = console.post(_url("codes_lookup"), {**extra, "reason": "Auskunft"})
        assert response.status_code == 200
        assert codes_views.CALL not in console.session
        assert console.get(_url("codes_booking"))["Location"] == _url("codes_lookup")


def test_wrong_codes_are_throttled_per_agent(console, slots, staff_client):
    first, _later, second, _ls = slots
    codes = CODE.findall(_book(console, first, second).content.decode())
    for n in range(codes_services.AGENT_LIMIT.attempts):
        wrong = (
            f"ABCD-EFGH-{'JKMNPQRSTUVWXYZ23456789'[n % 23]}{'JKMNPQRSTUVWXYZ23456789'[n // 23]}ZZ"
        )
        assert _look_up(console, wrong).status_code == 200
    response = _look_up(console, codes[0])  # even the right code, for now
    assert response.status_code == 429
    failed = _audit("lookup", "booking_code").filter(which="")
    assert failed.count() == codes_services.AGENT_LIMIT.attempts + 1
    other = staff_client(_staff("agent2", AGENT))
    assert _look_up(other, codes[0]).status_code == 302  # another agent is not held up


def test_wrong_codes_are_throttled_per_code(console, slots, staff_client):
    wrong = "ABCD-EFGH-JKMN"
    for _n in range(codes_services.CODE_LIMIT.attempts):
        assert _look_up(console, wrong).status_code == 200
    other = staff_client(_staff("agent2", AGENT))
    response = _look_up(other, wrong)
    assert response.status_code == 429
    assert "Zu viele Versuche" in response.content.decode()


def test_a_found_code_gives_its_attempt_back(console, slots):
    first, _later, second, _ls = slots
    codes = CODE.findall(_book(console, first, second).content.decode())
    for _n in range(codes_services.CODE_LIMIT.attempts + 2):
        assert _look_up(console, codes[0]).status_code == 302


@pytest.mark.parametrize("name", URLS)
def test_centre_staff_get_403_on_every_console_codes_url(db, staff_client, name):
    client = staff_client(_staff("centre", CENTRE_STAFF))
    assert client.get(_url(name)).status_code in (403, 405)
    assert client.post(_url(name)).status_code == 403


@pytest.mark.parametrize("name", URLS)
def test_staff_without_second_factor_are_redirected(agent, name):
    client = Client()
    client.force_login(agent)
    response = client.post(_url(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:verify"))
    assert Client().get(_url("codes_lookup"))["Location"].startswith("/admin/login/")


def test_item7_shortcuts_have_one_meaning_on_every_page(console, slots):
    first, _later, second, _ls = slots
    codes = CODE.findall(_book(console, first, second).content.decode())
    for name in ("home", "codes_book", "codes_lookup", "registration_find", "registration_new"):
        keys = assert_shortcuts(console.get(_url(name)).content.decode())
        assert {"h", "t", "c", "v", "n"} <= keys and "s" not in keys  # no statistics for agents
    _look_up(console, codes[0])
    keys = assert_shortcuts(console.get(_url("codes_booking")).content.decode())
    assert {"u", "x", "e"} <= keys
    assert_shortcuts(console.get(_url("codes_cancel")).content.decode())
    home = console.get(_url("home")).content.decode()
    assert 'id="tastenkuerzel"' in home and "<kbd>X</kbd>" in home


def test_item7_labels_are_in_the_page_language(console, place):
    with translation.override("en"):
        page = console.get(_url("codes_book")).content.decode()
    assert "Date of birth, person 1" in page and "Geburtsdatum" not in page


def test_pages_are_keyboard_friendly(console, place):
    page = console.get(_url("codes_book")).content.decode()
    assert re.search(r'<input[^>]*name="postcode"[^>]*autofocus', page)
    page = console.get(_url("codes_lookup")).content.decode()
    assert re.search(r'<input[^>]*name="code"[^>]*autofocus', page)
    assert '<label class="kern-label" for="id_reason">' in page
    page = console.post(_url("codes_lookup"), {"code": "", "reason": ""}).content.decode()
    assert 'id="error-summary"' in page


def test_a_phone_code_set_is_issued_without_pin_and_found_by_either_code(console, slots):
    first, _later, second, _ls = slots
    codes = CODE.findall(_book(console, first, second).content.decode())
    assert code_set_for(codes[0]).pk == code_set_for(codes[1]).pk
    assert CodeSet.objects.filter(channel="phone").count() == 1


def _rebook_together(client, code, others, slot, second):
    _look_up(client, code, reason="Umbuchung")
    data = {"action": "rebook"}
    data.update({f"together_{n}": other for n, other in enumerate(others, start=2)})
    response = client.post(_url("codes_booking"), data)
    if response.status_code != 302:
        return response
    assert response["Location"] == _url("codes_rebook")
    day = slot.start.date().isoformat()
    nonce = client.session[codes_views.REBOOK]["value"]["nonce"]
    return client.post(
        _url("codes_rebook"), {"option": f"{slot.pk}-{second.pk}", "nonce": nonce, "tag": day}
    )


def test_R7_a_couple_booked_by_code_moves_together(console, slots):
    first, later, second, later_second = slots
    codes = CODE.findall(
        _book(console, first, second, birth_dates=("01.01.1960", "02.02.1962")).content.decode()
    )
    holders = [code_set_for(codes[0]).holder, code_set_for(codes[2]).holder]
    console.post(_url("codes_call_end"))

    response = _rebook_together(console, codes[0], [codes[3]], later, later_second)
    assert response.status_code == 302 and "umgebucht=1" in response["Location"]
    pairs = AppointmentPair.objects.filter(holder__in=holders, status="booked")
    assert pairs.count() == 2
    assert {p.appointments.get(dose=1).slot for p in pairs} == {later}
    assert len({p.party for p in pairs}) == 1
    first.refresh_from_db()
    later.refresh_from_db()
    assert (first.booked, later.booked) == (0, 2)
    moved = _audit("change", "appointment_pair", "Umbuchung").filter(detail="rebooked")
    assert {e.which for e in moved} == {str(p.pk) for p in pairs}
    # each further code was looked up like any other, and audited
    assert _audit("lookup", "booking_code", "Umbuchung").count() == 2


def test_R7_a_couple_moves_together_or_not_at_all(console, slots, place):
    first, _later, second, _later_second = slots
    codes = CODE.findall(
        _book(console, first, second, birth_dates=("01.01.1960", "02.02.1962")).content.decode()
    )
    single = make_slot(place.centre, place.biontech, at(7), capacity=1)
    console.post(_url("codes_call_end"))
    # A day with one seat is not offered for two: nobody moves.
    _look_up(console, codes[0], reason="Umbuchung")
    console.post(_url("codes_booking"), {"action": "rebook", "together_2": codes[2]})
    page = console.get(_url("codes_rebook"), {"tag": single.start.date().isoformat()})
    assert f'value="{single.pk}-' not in page.content.decode()
    assert AppointmentPair.objects.filter(status="booked").count() == 2
    assert not _audit("change", "appointment_pair").filter(detail="rebooked").exists()


@pytest.mark.parametrize(
    "other, message",
    [
        ("same", "Jede Person kann nur einmal gebucht werden."),
        ("ABCD-EFGH-JKMN", "Diesen Vermittlungscode kennen wir nicht."),
        ("unbooked", "Mit diesem Code ist kein Termin gebucht."),
    ],
)
def test_R7_rebook_together_refuses_a_wrong_further_code(console, slots, other, message):
    first, later, second, later_second = slots
    codes = CODE.findall(_book(console, first, second).content.decode())
    if other == "same":
        other = codes[1]
    elif other == "unbooked":
        other = CODE.findall(_book(console, first, second).content.decode())[0]
        _look_up(console, other, reason="Stornierung")
        console.post(_url("codes_cancel"))
    response = _rebook_together(console, codes[0], [other], later, later_second)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert codes_views.REBOOK not in console.session
    assert AppointmentPair.objects.get(holder=code_set_for(codes[0]).holder, status="booked")


def test_R9_people_booked_in_other_districts_do_not_move_together(console, slots, place):
    first, later, second, later_second = slots
    codes = CODE.findall(_book(console, first, second).content.decode())
    elsewhere_first = make_slot(place.other_centre, place.biontech, at(5), capacity=2)
    elsewhere_second = make_slot(place.other_centre, place.biontech, at(27), released=False)
    elsewhere = codes_book_by_phone(
        region_id=place.region.pk,
        vaccine_id=place.biontech.pk,
        party_size=1,
        district_id=place.other_district.pk,
        first_slot_id=elsewhere_first.pk,
        second_slot_id=elsewhere_second.pk,
    ).people[0]
    response = _rebook_together(console, codes[0], [elsewhere.codes[0]], later, later_second)
    assert response.status_code == 200
    assert "im selben Kreis" in response.content.decode()
    assert codes_views.REBOOK not in console.session
    with pytest.raises(ServiceError) as refused:  # the service refuses it too
        code_rebook(
            code=codes[0],
            first_slot_id=later.pk,
            second_slot_id=later_second.pk,
            together_with=[elsewhere.codes[0]],
        )
    assert refused.value.code == "codes_other_district"
    moved = AppointmentPair.objects.get(holder=code_set_for(elsewhere.codes[0]).holder)
    assert moved.status == "booked" and moved.centre == place.other_centre
