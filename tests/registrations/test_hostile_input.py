"""Issue 10, item 4: hostile names and addresses — HTML, script, SQL, spreadsheet formulas,
look-alike letters — are stored as text and come out as text on every page, in the mail,
the appointment PDF, the call center's page and the data export; hidden characters
(direction overrides, zero-width, control characters) and overlong values are refused
with a clear message and nothing stored."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django_tasks_db.models import DBTaskResult
from pypdf import PdfReader

from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.registrations.letters import appointment_document
from impftermin.registrations.models import Registration, RegistrationStatus
from impftermin.registrations.services import registrations_assign
from impftermin.staff.roles import AGENT
from impftermin.staff.services import roles_setup
from tests.console.test_registration_console import DETAIL, find
from tests.factories import at, make_slot
from tests.registrations.helpers import register
from tests.registrations.test_account_pages import ACCOUNT, log_in

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(2)>'
SQL = "Robert'); DROP TABLE registrations_registration;--"
FORMULA = '=HYPERLINK("http://evil.example","x")'
LOOKALIKE = "\u041cu\u0455t\u0435r"  # "Muster" with a Cyrillic Em, Dze and Ie

HIDDEN = {
    "direction override": "Muster\u202etxt.exe",
    "zero width": "Mu\u200bster",
    "control character": "Mus\x07ter",
    "NUL": "Mus\x00ter",
    "overlong": "M" * 101,
}


@pytest.mark.parametrize("name", HIDDEN)
def test_hostile_hidden_characters_and_overlong_names_are_refused_and_nothing_stored(pool, name):
    before = Registration.objects.count()
    with pytest.raises(ServiceError) as refused:
        register(pool, last_name=HIDDEN[name])
    assert refused.value.field == "last_name" and str(refused.value.message)
    assert Registration.objects.count() == before


def escaped_everywhere(text: str) -> None:
    """None of the hostile values appears as markup."""
    for raw in (SCRIPT, "<img src=x"):
        assert raw not in text, raw


def test_hostile_names_stay_text_on_pages_mail_pdf_console_and_export(client, pool, staff_client):
    make_slot(pool.centre, pool.biontech, at(5))
    make_slot(pool.centre, pool.biontech, at(27), released=False)
    registration = register(pool, first_name=SCRIPT, last_name=IMAGE, street=SQL, city=FORMULA)
    # not in the population register under that name: an operator confirmed it (R14)
    Registration.objects.filter(pk=registration.pk).update(status=RegistrationStatus.WAITING)
    assert registrations_assign() == 1
    with connection.cursor() as cursor:  # the SQL was a value, not a statement
        cursor.execute("SELECT count(*) FROM registrations_registration")
        assert cursor.fetchone()[0] == 1
    registration.refresh_from_db()
    assert (registration.first_name, registration.street) == (SCRIPT, SQL)

    log_in(client, registration)
    page = client.get(ACCOUNT).content.decode()
    escaped_everywhere(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    export = client.get("/konto/meine-daten.json")
    data = json.loads(export.content)
    assert data["registration"]["first_name"] == SCRIPT and export["Content-Type"].startswith(
        "application/json"
    )

    pdf = PdfReader(io.BytesIO(appointment_document(registration)))
    words = " ".join(page.extract_text() for page in pdf.pages)
    assert "alert(1)" in words and "onerror" in words  # printed as text, not taken as markup

    for queued in DBTaskResult.objects.filter(task_path__endswith="notify_assignments"):
        queued.task.call(*queued.args_kwargs["args"], **queued.args_kwargs["kwargs"])
    mails = list(OutboundMessage.objects.filter(recipient=registration.email))
    assert mails, "the person was told"
    for message in mails:  # plain text; no header can be smuggled into the subject
        assert "\n" not in message.subject and "\r" not in message.subject

    roles_setup()
    user = User.objects.create_user("agent-hostile", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=AGENT.group))
    agent = staff_client(user)
    find(agent, registration, reason="Auskunft")
    console = agent.get(DETAIL).content.decode()
    escaped_everywhere(console)
    assert "&lt;script&gt;" in console


def test_lookalike_letters_are_kept_as_written(pool):
    """Confusable letters are a person's name as typed (no silent change); the population
    register check and the duplicate check compare their own normalised forms."""
    registration = register(pool, last_name=LOOKALIKE)
    registration.refresh_from_db()
    assert registration.last_name == LOOKALIKE
