"""The call-center console in assignment mode (issue 6 item 3): finding a registration only
by Vorgangskennung and date of birth (R20), throttled per agent and per target; what the
agent sees and does (R18-R23), each audited with the call's reason; phone registration
without e-mail ending in a letter (R17, R21); couples linked by phone (R19)."""

import datetime as dt
import itertools

import pytest
from django.test import Client
from django.urls import reverse

from impftermin.audit.models import AuditEntry
from impftermin.booking.models import Channel
from impftermin.booking.selectors import live_pair_for
from impftermin.console import registration_urls
from impftermin.console.forms import FindRegistrationForm
from impftermin.core.identifiers import grouped, spelled
from impftermin.registrations.letters import print_batch_make
from impftermin.registrations.models import Letter, Registration, RegistrationStatus
from impftermin.registrations.services import (
    assignments_notify,
    registration_book,
    registrations_assign,
    vorgangskennung_new,
)
from impftermin.staff import roles
from tests.console.helpers import assert_shortcuts
from tests.factories import at, make_slot
from tests.staff.helpers import staff_device

FIND = reverse("console:registration_find")
DETAIL = reverse("console:registration_detail")
_numbers = itertools.count(1)


@pytest.fixture
def agent(member):
    return member("agent")


@pytest.fixture
def client_of(staff_client):
    return staff_client


def person(pool, **fields) -> Registration:
    """A confirmed phone registration, waiting, at the test centre with BioNTech."""
    n = next(_numbers)
    data = {
        "vorgangskennung": vorgangskennung_new(),
        "region": pool.region,
        "district": pool.district,
        "centre": pool.centre,
        "vaccine": pool.biontech,
        "first_name": f"Person{n}",
        "last_name": "Muster",
        "birth_date": dt.date(1940, 1, 1) + dt.timedelta(days=n),
        "street": "Rheinstraße 12",
        "postcode": "48143",
        "city": "Münster",
        "residence": "first",
        "channel": Channel.PHONE,
        "mobile": "+4915112345678",
        "identity_key": f"console-test-{n}",
    }
    return Registration.objects.create(**(data | fields))


def find(client, registration, *, birth_date=None, reason="Auskunft", **extra):
    birth_date = birth_date or registration.birth_date
    return client.post(
        FIND,
        {
            "vorgangskennung": grouped(registration.vorgangskennung),
            "birth_date": birth_date.strftime("%d.%m.%Y"),
            "reason": reason,
            **extra,
        },
    )


def entries(registration=None, **fields):
    found = AuditEntry.objects.filter(what="registration", **fields)
    if registration is not None:
        found = found.filter(which=str(registration.pk))
    return found


def with_pair(pool, registration, days=10):
    first = make_slot(pool.centre, pool.biontech, at(days), capacity=3)
    second = make_slot(pool.centre, pool.biontech, at(days + 22), capacity=3, released=False)
    registration_book(
        registration_id=registration.pk,
        first_slot_id=first.pk,
        second_slot_id=second.pk,
        channel=Channel.PHONE,
    )
    return live_pair_for(holder=registration.holder)


# --- finding -------------------------------------------------------------------------------


def test_found_by_vorgangskennung_and_birth_date_shows_only_what_the_call_needs(
    pool, agent, client_of
):
    registration = person(pool)
    client = client_of(agent)
    response = find(client, registration, reason="Umbuchung")
    assert response.status_code == 302 and response.url == DETAIL
    page = client.get(DETAIL).content.decode()
    assert registration.first_name in page and grouped(registration.vorgangskennung) in page
    assert spelled(grouped(registration.vorgangskennung)) in page
    assert "Rheinstraße" not in page and "+4915112345678" not in page
    assert entries(registration, action="lookup", why="Umbuchung").count() == 1
    assert entries(registration, action="view", why="Umbuchung", detail="").count() == 1

    page = client.post(DETAIL, {"show": "contact"}).content.decode()
    assert "Rheinstraße" in page and "+4915112345678" in page
    assert entries(registration, action="view", detail="contact", why="Umbuchung").count() == 1


def test_newest_letter_is_shown_as_the_valid_pair(pool, agent, client_of):
    registration = person(pool)
    with_pair(pool, registration)  # no e-mail: a letter (R17)
    letter = Letter.objects.get(registration=registration)
    client = client_of(agent)
    find(client, registration)
    page = client.get(DETAIL).content.decode()
    assert f"Brief vom {letter.issued_on:%d.%m.%Y} \N{EN DASH} gilt" in page
    keys = assert_shortcuts(page)  # issue 6 item 7
    assert {"u", "x", "g", "e"} <= keys and "b" not in keys


def test_there_is_no_search_by_name_birth_date_alone_or_phone(pool, agent, client_of):
    assert set(FindRegistrationForm.base_fields) == {"vorgangskennung", "birth_date", "reason"}
    registration = person(pool)
    client = client_of(agent)
    for data in (
        {"first_name": registration.first_name, "last_name": "Muster", "reason": "Auskunft"},
        {"birth_date": registration.birth_date.strftime("%d.%m.%Y"), "reason": "Auskunft"},
        {"mobile": registration.mobile, "phone": registration.mobile, "reason": "Auskunft"},
        {
            "last_name": "Muster",
            "birth_date": registration.birth_date.strftime("%d.%m.%Y"),
            "mobile": registration.mobile,
            "reason": "Auskunft",
        },
    ):
        response = client.post(FIND, data)
        assert response.status_code == 200
        assert "Bitte geben Sie die Vorgangskennung ein." in response.content.decode()
        assert client.get(DETAIL).url == FIND  # nothing found, nothing on the call
    # Someone else's Vorgangskennung with this person's date of birth finds nothing.
    other = person(pool)
    response = find(client, other, birth_date=registration.birth_date)
    assert "keine Registrierung" in response.content.decode()
    assert client.get(DETAIL).url == FIND
    assert not entries(action="lookup").exclude(which="").exists()
    assert entries(action="lookup", which="", detail="not found").count() == 1


def test_the_reason_is_required(pool, agent, client_of):
    registration = person(pool)
    response = find(client_of(agent), registration, reason="")
    assert response.status_code == 200
    assert "Anlass des Anrufs" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_wrong_pairs_are_throttled_per_agent(pool, member, client_of):
    registration = person(pool)
    guesser, colleague = member("guesser"), member("colleague")
    client = client_of(guesser)
    for _ in range(30):  # 30 different Vorgangskennungen: the per-target limit never bites
        stranger = Registration(
            vorgangskennung=vorgangskennung_new(), birth_date=dt.date(1950, 1, 1)
        )
        assert find(client, stranger).status_code == 200
    assert entries(action="lookup", which="", detail="not found").count() == 30
    response = find(client, registration)  # even the right pair, now
    assert response.status_code == 429 and "Retry-After" in response
    assert entries(action="lookup", detail="throttled", user=guesser).count() == 1
    # Another agent is not held back.
    assert find(client_of(colleague), registration).status_code == 302


def test_wrong_birth_dates_are_throttled_per_target(pool, member, client_of):
    registration = person(pool)
    wrong = registration.birth_date + dt.timedelta(days=1)
    for n in range(5):  # spread over agents: the target's limit counts them all
        client = client_of(member(f"agent{n}"))
        assert find(client, registration, birth_date=wrong).status_code == 200
    response = find(client_of(member("late")), registration)
    assert response.status_code == 429


def test_a_success_gives_its_attempt_back(pool, agent, client_of):
    registration = person(pool)
    client = client_of(agent)
    for _ in range(10):
        assert find(client, registration).status_code == 302


# --- access --------------------------------------------------------------------------------


def _urls():
    return [reverse(f"console:{pattern.name}") for pattern in registration_urls.urlpatterns]


def test_centre_staff_get_403_on_every_console_url(pool, member, client_of):
    client = client_of(member("centre", role=roles.CENTRE_STAFF))
    for url in [reverse("console:home"), *_urls()]:
        assert client.get(url).status_code in (403, 405), url
        assert client.post(url, {}).status_code in (403, 405), url
        assert 403 in (client.get(url).status_code, client.post(url, {}).status_code), url


def test_without_verified_second_factor_an_agent_is_redirected(pool, agent):
    staff_device(agent)
    client = Client()
    client.force_login(agent)  # the password step only
    for url in _urls():
        response = (
            client.post(url, {}) if url.endswith("/ende/") or "trennen" in url else client.get(url)
        )
        assert response.status_code == 302, url
        assert not response.url.startswith(reverse("console:home")), url
    assert Client().get(FIND).status_code == 302


# --- actions -------------------------------------------------------------------------------


def _choose(client, slot, second):
    page = client.get(reverse("console:registration_choose"), {"tag": f"{slot.start.date()}"})
    assert page.status_code == 200
    nonce = page.context["nonce"]
    return client.post(
        reverse("console:registration_choose"),
        {"nonce": nonce, "tag": f"{slot.start.date()}", "option": f"{slot.pk}-{second.pk}"},
    )


def test_every_action_is_audited_with_the_reason(pool, agent, client_of):
    registration = person(pool)
    client = client_of(agent)
    # Book (R18) while waiting.
    find(client, registration, reason="Sonstiges")
    first = make_slot(pool.centre, pool.biontech, at(10), capacity=3)
    second = make_slot(pool.centre, pool.biontech, at(32), capacity=3, released=False)
    response = _choose(client, first, second)
    assert response.status_code == 302 and "gebucht" in response.url
    assert entries(registration, action="change", why="Sonstiges", detail="booked").count() == 1
    # Rebook (R20), on the phone channel.
    find(client, registration, reason="Umbuchung")
    later = make_slot(pool.centre, pool.biontech, at(12), capacity=3)
    later_second = make_slot(pool.centre, pool.biontech, at(34), capacity=3, released=False)
    response = _choose(client, later, later_second)
    assert response.status_code == 302 and "umgebucht" in response.url
    pair = live_pair_for(holder=registration.holder)
    assert [a.slot_id for a in pair.appointments.order_by("dose")] == [later.pk, later_second.pk]
    assert pair.channel == Channel.PHONE
    assert entries(registration, action="change", why="Umbuchung", detail="rebooked").exists()
    # Cancel (R22): the plain warning, then back into the pool.
    find(client, registration, reason="Stornierung")
    page = client.get(reverse("console:registration_cancel")).content.decode()
    assert "Sie bleiben registriert" in page
    assert client.post(reverse("console:registration_cancel")).status_code == 302
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.WAITING
    assert live_pair_for(holder=registration.holder) is None
    assert entries(registration, action="change", why="Stornierung", detail="cancelled").exists()
    # Couple (R19) and uncouple.
    partner = person(pool)
    find(client, registration, reason="Gemeinsamer Termin")
    response = client.post(
        reverse("console:registration_couple"),
        {
            "partner_vorgangskennung": partner.vorgangskennung,
            "partner_birth_date": partner.birth_date.strftime("%d.%m.%Y"),
        },
    )
    assert response.status_code == 302
    assert entries(partner, action="change", why="Gemeinsamer Termin", detail="coupled").exists()
    assert client.post(reverse("console:registration_uncouple")).status_code == 302
    assert entries(registration, action="change", detail="uncoupled").exists()
    assert entries(partner, action="change", detail="uncoupled").exists()
    # Delete (R23), confirmed.
    find(client, registration, reason="Löschung")
    assert (
        "endgültig löschen" in client.get(reverse("console:registration_delete")).content.decode()
    )
    assert client.post(reverse("console:registration_delete")).status_code == 200
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.DELETED and registration.first_name == ""
    assert entries(registration, action="delete", why="Löschung").count() == 1
    assert client.get(DETAIL).url == FIND  # the call is over
    # Every console request touching the registration left entries with the reasons.
    assert set(entries(registration).values_list("why", flat=True)) == {
        "Sonstiges",
        "Umbuchung",
        "Stornierung",
        "Gemeinsamer Termin",
        "Löschung",
    }


def test_rebook_within_three_days_is_refused(pool, agent, client_of):
    registration = person(pool)
    old = with_pair(pool, registration, days=2)
    client = client_of(agent)
    find(client, registration, reason="Umbuchung")
    later = make_slot(pool.centre, pool.biontech, at(12), capacity=3)
    later_second = make_slot(pool.centre, pool.biontech, at(34), capacity=3, released=False)
    page = client.get(reverse("console:registration_choose"))
    assert page.status_code == 409 and "Umbuchen ist nur bis 3 Tage" in page.content.decode()
    response = client.post(
        reverse("console:registration_choose"),
        {"nonce": "x", "tag": f"{later.start.date()}", "option": f"{later.pk}-{later_second.pk}"},
    )
    assert response.status_code == 409
    assert live_pair_for(holder=registration.holder).pk == old.pk
    assert not entries(registration, action="change").exists()


def test_wrong_partner_is_refused_and_throttled_by_the_service(pool, agent, client_of):
    registration, partner = person(pool), person(pool)
    client = client_of(agent)
    find(client, registration, reason="Gemeinsamer Termin")
    data = {
        "partner_vorgangskennung": partner.vorgangskennung,
        "partner_birth_date": (partner.birth_date + dt.timedelta(days=1)).strftime("%d.%m.%Y"),
    }
    statuses = [
        client.post(reverse("console:registration_couple"), data).status_code for _ in range(6)
    ]
    assert statuses == [409] * 5 + [429]
    assert fresh_partner(registration) is None


def fresh_partner(registration):
    return Registration.objects.get(pk=registration.pk).partner_id


def test_a_couple_linked_from_the_console_gets_adjacent_pairs(pool, agent, client_of):
    one, two = person(pool), person(pool)
    first = make_slot(pool.centre, pool.biontech, at(10), capacity=2)
    second = make_slot(pool.centre, pool.biontech, at(32), capacity=2, released=False)
    make_slot(pool.centre, pool.biontech, at(9), capacity=1)  # room for one only
    client = client_of(agent)
    find(client, one, reason="Gemeinsamer Termin")
    response = client.post(
        reverse("console:registration_couple"),
        {
            "partner_vorgangskennung": grouped(two.vorgangskennung).lower(),
            "partner_birth_date": two.birth_date.strftime("%d.%m.%Y"),
        },
    )
    assert response.status_code == 302 and "verbunden" in response.url
    slots = [
        [a.slot_id for a in live_pair_for(holder=p.holder).appointments.order_by("dose")]
        for p in (one, two)
    ]
    assert slots[0] == slots[1] == [first.pk, second.pk]
    page = client.get(DETAIL).content.decode()
    assert grouped(two.vorgangskennung) in page


# --- registering a caller ----------------------------------------------------------------


def test_phone_registration_without_email_gets_a_letter_in_the_print_batch(pool, agent, client_of):
    client = client_of(agent)
    start = client.get(reverse("console:registration_new")).content.decode()
    assert "autofocus" in start
    response = client.post(
        reverse("console:registration_new"), {"postcode": "48143", "birth_date": "02.11.1948"}
    )
    assert response.status_code == 302
    details = client.get(response.url)
    assert "password" not in details.context["form"].fields
    response = client.post(
        response.url,
        {
            "first_name": "Max",
            "last_name": "Muster",
            "street": "Rheinstraße 12",
            "city": "Münster",
            "residence": "first",
            "centre": pool.centre.pk,
            "vaccine": pool.biontech.pk,
            "email": "",
            "mobile": "",
            "language": "de",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    registration = Registration.objects.get()  # the first name is encrypted: no lookup
    assert registration.channel == Channel.PHONE and registration.password == ""
    assert registration.status == RegistrationStatus.WAITING
    page = client.get(response.url).content.decode()
    assert grouped(registration.vorgangskennung) in page
    assert spelled(grouped(registration.vorgangskennung), "de") in page
    assert entries(registration, action="change", why="Registrierung").count() == 1

    make_slot(pool.centre, pool.biontech, at(10, 9, 30), capacity=3)
    make_slot(pool.centre, pool.biontech, at(32, 14, 15), capacity=3, released=False)
    assert registrations_assign() == 1
    assignments_notify(registration_ids=[registration.pk])
    letter = Letter.objects.get(registration=registration)
    batch = print_batch_make()
    assert batch is not None and letter in batch.letters.all()


def test_spelled_reads_identifiers_aloud():
    assert spelled("ABCD-EF23") == "Anton Berta Cäsar Dora \N{EN DASH} Emil Friedrich Zwei Drei"
    assert spelled("xy9", "en") == "X-ray Yankee Nine"
    assert spelled("Q7", "fr") == "Quelle Sieben"  # no alphabet of its own: German
