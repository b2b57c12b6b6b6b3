"""Issue 10, item 6: a person's copy of everything we hold about them (GDPR Art. 15), in
both modes: a registered person from their account, a person with booking codes after
checking a code. Nobody else's data is in it, and nobody without the log-in or the code
gets it."""

from __future__ import annotations

import json
import re

from django.test import Client

from impftermin.audit.models import AuditAction, AuditSubject
from impftermin.audit.services import audit_record
from impftermin.booking.models import AppointmentPair
from impftermin.codes.models import CodeSet
from impftermin.notifications.services import message_send_later
from impftermin.registrations.services import assignments_notify
from tests.codes.helpers import codes_for
from tests.factories import at, make_postcode, make_slot
from tests.registrations.helpers import register
from tests.registrations.test_account_pages import assigned, log_in


def exported(response) -> dict:
    assert response.status_code == 200, response.status_code
    assert response["Content-Disposition"] == 'attachment; filename="meine-daten.json"'
    assert "no-store" in response["Cache-Control"]
    return json.loads(response.content)


def test_GDPR_a_registered_person_downloads_all_their_data(client, pool, admin_user):
    registration = assigned(pool)
    assignments_notify(registration_ids=[registration.pk])  # the task the assignment queued
    register(pool, first_name="Max", last_name="Andere", email="max@example.org")  # not theirs
    for to in ("erika@example.org", "max@example.org"):  # to the address, not the person
        message_send_later(channel="email", kind="test", recipient=to, body=f"an {to}")
    message_send_later(
        channel="email",
        kind="password_reset",
        recipient="erika@example.org",
        body="Neues Passwort: https://impftermin.example/konto/passwort/geheim/",
        holder=registration.holder,
    )
    audit_record(
        user=admin_user,
        action=AuditAction.LOOKUP,
        what=AuditSubject.REGISTRATION,
        which=registration.pk,
        why="Anruf",
    )
    pair = AppointmentPair.objects.get(holder=registration.holder)
    for which in (pair.pk, pair.pk + 1000):  # their pair on a centre's day list, another's
        audit_record(
            user=admin_user,
            action=AuditAction.VIEW,
            what=AuditSubject.APPOINTMENT_PAIR,
            which=which,
            why="Impfzentrum",
        )
    assert client.get("/konto/meine-daten.json")["Location"].endswith("/konto/anmelden/")
    log_in(client, registration)
    assert "meine-daten.json" in client.get("/konto/").content.decode()
    data = exported(client.get("/konto/meine-daten.json"))
    person = data["registration"]
    assert person["last_name"] == "Muster" and person["birth_date"] == "1950-03-15"
    assert person["email"] == "erika@example.org" and person["street"] == "Rheinstraße 12"
    assert [a["dose"] for a in data["appointments"]] == [1, 2]
    assert data["appointments"][0]["centre"] == pool.centre.name
    # the messages sent to them by owner, not by address (a household shares one); a
    # link that still opens something is not repeated
    assert [m["subject"] for m in data["messages"]] == ["Ihre Impftermine", ""]
    assert "Rheinstraße" not in data["messages"][0]["text"]
    assert pool.centre.name in data["messages"][0]["text"]
    assert "geheim" not in json.dumps(data["messages"]) and "an erika" not in json.dumps(data)
    assert [(a["action"], a["what"], a["why"]) for a in data["staff_access"]] == [
        ("Suche", "Registrierung", "Anruf"),
        ("Ansicht", "Terminpaar", "Impfzentrum"),
    ]
    text = json.dumps(data)
    assert "Andere" not in text and "max@example.org" not in text and "password" not in text
    assert admin_user.username not in text


def test_GDPR_a_person_with_booking_codes_downloads_their_data_after_checking_a_code(world):
    make_postcode("48143", world.district)
    make_slot(world.centre, world.biontech, at(5))
    codes = codes_for(world, "+4915112345678")
    others = codes_for(world, "+4915112345600")  # someone else at the same address
    client = Client()
    assert client.get("/termin/pruefen/meine-daten.json")["Location"].endswith("/termin/pruefen/")
    client.post("/termin/pruefen/", {"code": codes[0].replace("-", "")})
    assert "meine-daten.json" in client.get("/termin/pruefen/termin/").content.decode()
    data = exported(client.get("/termin/pruefen/meine-daten.json"))
    assert data["booking_codes"]["email"] == "family@example.org"
    assert data["booking_codes"]["mobile"] == "+4915112345678"
    assert data["appointments"] == []
    # one address for the household: only this person's codes mail, with their own codes
    assert [m["subject"] for m in data["messages"]] == ["Ihre Vermittlungscodes"]
    assert codes[0] in data["messages"][0]["text"] and codes[1] in data["messages"][0]["text"]
    assert not set(others) & set(re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", str(data)))
    assert "+4915112345600" not in json.dumps(data)
    assert CodeSet.objects.count() == 2
