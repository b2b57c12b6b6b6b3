"""Issue 10, item 6: the most sensitive fields are encrypted at rest where no lookup needs
them — a registration's first name, street, city and mobile number, and the texts and
attachments of outgoing messages. A copy of the tables shows Fernet tokens; the app reads
clear text; lookups by value are refused instead of silently finding nothing; keys
rotate."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from impftermin.core.encryption import encrypt_columns, encrypted, with_newest_key
from impftermin.notifications.models import OutboundMessage
from impftermin.notifications.services import Attachment, message_send_later
from impftermin.registrations.models import Registration
from impftermin.registrations.selectors import holders_by_name
from tests.registrations.helpers import register

pytestmark = pytest.mark.django_db

ENCRYPTED = ("first_name", "street", "city", "mobile")


def stored(table: str, pk: int, columns: tuple[str, ...]) -> dict[str, str]:
    """What a copy of the database holds: the columns as they are on disk."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s", [pk])
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_item6_first_name_address_and_mobile_are_stored_encrypted_and_read_clear(pool):
    registration = register(pool, mobile="+4915112345678")
    raw = stored("registrations_registration", registration.pk, (*ENCRYPTED, "last_name"))
    for column in ENCRYPTED:
        assert raw[column].startswith("gAAAAA"), column  # a Fernet token
    assert "Erika" not in str(raw) and "Rheinstraße" not in str(raw)
    assert "Münster" not in str(raw) and "12345678" not in str(raw)
    again = Registration.objects.get(pk=registration.pk)
    assert (again.first_name, again.street, again.city, again.mobile) == (
        "Erika",
        "Rheinstraße 12",
        "Münster",
        "+4915112345678",
    )
    # the searches by last name and birth date still work: those stay clear
    assert raw["last_name"] == "Muster"
    assert holders_by_name("muster", dt.date(1950, 3, 15)) == [registration.holder]


def test_item6_an_empty_value_stays_empty_and_can_be_asked_for(pool):
    registration = register(pool, email="erika@example.org")
    assert stored("registrations_registration", registration.pk, ("mobile",)) == {"mobile": ""}
    assert Registration.objects.filter(mobile="").count() == 1
    assert not Registration.objects.filter(mobile__isnull=True).exists()


def test_item6_a_lookup_by_an_encrypted_value_is_refused_not_silently_empty(pool):
    register(pool)
    with pytest.raises(ValueError, match="encrypted"):
        Registration.objects.filter(street="Rheinstraße 12").exists()
    with pytest.raises(FieldError):
        Registration.objects.filter(city__icontains="Münster").exists()
    with pytest.raises(FieldError):  # a transform would work on the token
        Registration.objects.filter(city__lower__exact="").exists()


def test_item6_message_texts_and_attachments_are_stored_encrypted(db):
    message = message_send_later(
        channel="email",
        kind="booking_codes",
        recipient="erika@example.org",
        subject="Ihre Vermittlungscodes",
        body="Ihre Codes: ABCD-EFGH-JKLM und NPQR-STUV-WXYZ",
        attachment=Attachment("termin.pdf", "application/pdf", "JVBERi0xLjcgRXJpa2E="),
    )
    raw = stored("notifications_outboundmessage", message.pk, ("body", "attachment"))
    assert raw["body"].startswith("gAAAAA") and "ABCD" not in raw["body"]
    assert raw["attachment"].startswith("gAAAAA")
    again = OutboundMessage.objects.get(pk=message.pk)
    assert again.body.startswith("Ihre Codes: ABCD-EFGH-JKLM und NPQR-STUV-WXYZ")


def test_item6_keys_rotate_old_values_stay_readable_then_move_to_the_new_key(pool, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    registration = register(pool)
    before = stored("registrations_registration", registration.pk, ("street",))["street"]

    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # a new key first, the old one still there
    assert Registration.objects.get(pk=registration.pk).street == "Rheinstraße 12"
    call_command("rotate_field_encryption", stdout=io.StringIO())
    after = stored("registrations_registration", registration.pk, ("street",))["street"]
    assert after != before

    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped: everything still reads
    assert Registration.objects.get(pk=registration.pk).street == "Rheinstraße 12"

    settings.FIELD_ENCRYPTION_KEYS = [old]  # a wrong key is loud, never a token shown
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        Registration.objects.get(pk=registration.pk)


def test_item6_clear_text_from_before_the_encryption_is_read_as_it_is(pool):
    """During the release that encrypts, old and new code run side by side: a value still
    in clear text is read as it is until the migration (or the rotation) encrypts it."""
    registration = register(pool)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registrations_registration SET street = %s WHERE id = %s",
            ["Luisenplatz 1", registration.pk],
        )
    assert Registration.objects.get(pk=registration.pk).street == "Luisenplatz 1"
    with connection.cursor() as cursor:  # typed text shaped like the start of a token
        cursor.execute(
            "UPDATE registrations_registration SET city = 'gAAAAAgAAAAA' WHERE id = %s",
            [registration.pk],
        )
    assert Registration.objects.get(pk=registration.pk).city == "gAAAAAgAAAAA"
    call_command("rotate_field_encryption", stdout=io.StringIO())
    assert Registration.objects.get(pk=registration.pk).city == "gAAAAAgAAAAA"
    assert stored("registrations_registration", registration.pk, ("street",))["street"].startswith(
        "gAAAAA"
    )
    assert Registration.objects.get(pk=registration.pk).street == "Luisenplatz 1"


def test_item6_a_row_changed_during_the_rotation_keeps_the_newer_value(pool):
    """The rotation reads a batch, then writes each row back only if it still holds what
    was read: an erasure in between is not undone."""
    registration = register(pool)
    before = stored("registrations_registration", registration.pk, ("city",))["city"]

    def erased_meanwhile(value: str) -> str:
        Registration.objects.filter(pk=registration.pk).update(street="")
        return with_newest_key(value)

    changed = encrypt_columns(
        connection, "registrations_registration", ("street", "city"), change=erased_meanwhile
    )
    again = Registration.objects.get(pk=registration.pk)
    assert (again.street, again.city) == ("", "Münster")  # the erasure stands
    assert changed == 1  # the city, column by column
    assert stored("registrations_registration", registration.pk, ("city",))["city"] != before


def test_item6_the_migration_encrypts_what_was_stored_in_clear(pool):
    registration = register(pool)
    with connection.cursor() as cursor:  # as before the migration: clear text
        cursor.execute(
            "UPDATE registrations_registration SET street = %s, city = %s WHERE id = %s",
            ["Luisenplatz 1", "Darmstadt", registration.pk],
        )
    changed = encrypt_columns(
        connection, "registrations_registration", ("street", "city"), change=encrypted
    )
    assert changed == 2
    again = encrypt_columns(  # run again (a migration cut short): nothing left to do
        connection, "registrations_registration", ("street", "city"), change=encrypted
    )
    assert again == 0
    raw = stored("registrations_registration", registration.pk, ("street", "city"))
    assert all(value.startswith("gAAAAA") for value in raw.values())
    again = Registration.objects.get(pk=registration.pk)
    assert (again.street, again.city) == ("Luisenplatz 1", "Darmstadt")
