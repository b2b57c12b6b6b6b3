"""Proof of work against bots (issue 9): PIN requests, registrations, log-ins and bookings
are accepted with a solved, fresh, unused ALTCHA challenge of ours (or, without JavaScript,
a time-lock that has run out) and refused otherwise, changing nothing."""

import base64
import html
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import altcha
import pytest
from altcha.altcha import hmac_hex
from django import forms
from django.db import connection
from django.test import Client
from django.utils import timezone

from impftermin.booking.forms import SlotChoiceForm
from impftermin.booking.models import AppointmentPair
from impftermin.codes.models import PinRequest
from impftermin.console.forms import PhoneRegistrationForm
from impftermin.core.proof_of_work import ProofOfWorkField, waited_token_new
from impftermin.notifications.models import OutboundMessage
from impftermin.registrations.models import Registration
from tests.codes.test_citizen_pages import adult_birth_date, choose, get_codes
from tests.factories import at, make_postcode, make_slot
from tests.registrations.helpers import register
from tests.registrations.test_account_pages import ACCOUNT, DETAILS, details, log_in, start

CHALLENGE_RE = re.compile(r'challengejson="([^"]+)"')
REFUSED = "Die Prüfung gegen automatische Anfragen ist fehlgeschlagen"


@pytest.fixture
def proof_of_work(settings):
    settings.ALTCHA_VERIFICATION_ENABLED = True
    settings.PROOF_OF_WORK_MAX_NUMBER = 2_000  # the tests solve it in Python
    return settings


@pytest.fixture
def place(world):
    make_postcode("48143", world.district)
    return world


def solution(page: str, *, number_offset: int = 0, key: str | None = None) -> str:
    """What the browser's script sends: the page's challenge, solved."""
    challenge = json.loads(html.unescape(CHALLENGE_RE.search(page).group(1)))
    if key is not None:  # the same challenge signed with another key (a forgery)
        challenge["signature"] = hmac_hex("SHA-256", challenge["challenge"].encode(), key)
    solved = altcha.solve_challenge(
        challenge["challenge"], challenge["salt"], "SHA-256", challenge["maxNumber"]
    )
    payload = {
        "algorithm": "SHA-256",
        "challenge": challenge["challenge"],
        "number": solved.number + number_offset,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


def pin_page(client) -> tuple[str, dict]:
    assert client.post("/termin/", {"postcode": "48143"}).status_code == 302
    assert client.post("/termin/alter/", {"birth_date": adult_birth_date()}).status_code == 302
    response = client.get("/termin/pin/")
    vaccine = response.context["form"].fields["vaccine"].choices[0][0]
    form = {"vaccine": vaccine, "mobile": "0151 11111111", "email": "person@example.org"}
    return response.content.decode(), form


def test_pin_request_with_a_solved_challenge_is_accepted(client, place, proof_of_work):
    page, form = pin_page(client)
    assert "<altcha-widget" in page and "/static/altcha/altcha.min.js" in page
    response = client.post("/termin/pin/", {**form, "altcha": solution(page)})
    assert response.status_code == 302
    assert PinRequest.objects.count() == 1


@pytest.mark.parametrize(
    "bad",
    ["missing", "wrong_number", "forged_signature", "garbage", "not_json", "too_long"],
)
def test_pin_request_without_a_valid_proof_is_refused_and_sends_nothing(
    client, place, proof_of_work, bad
):
    page, form = pin_page(client)
    value = {
        "missing": None,
        "wrong_number": lambda: solution(page, number_offset=1),
        "forged_signature": lambda: solution(page, key="not-our-key"),
        "garbage": lambda: "!!!%%%",
        "not_json": lambda: base64.b64encode(b"[1, 2").decode(),
        "too_long": lambda: "A" * 5000,
    }[bad]
    data = form if value is None else {**form, "altcha": value()}
    response = client.post("/termin/pin/", data)
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert 'href="#id_altcha"' in response.content.decode()  # the error summary links it
    assert not PinRequest.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_an_expired_challenge_is_refused(client, place, proof_of_work):
    proof_of_work.ALTCHA_CHALLENGE_EXPIRE = 1  # millisecond
    page, form = pin_page(client)
    time.sleep(1.1)  # the expiry is kept in whole seconds
    response = client.post("/termin/pin/", {**form, "altcha": solution(page)})
    assert REFUSED in response.content.decode() and not PinRequest.objects.exists()


def test_a_solution_is_accepted_once(db, proof_of_work, client, place):
    page, _form = pin_page(client)
    payload = solution(page)
    field = ProofOfWorkField()
    assert field.clean(payload) == payload
    with pytest.raises(forms.ValidationError) as error:
        field.clean(payload)
    assert error.value.code == "replay"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_solution_sent_in_parallel_is_accepted_once(proof_of_work, client, place):
    page, _form = pin_page(client)
    payload = solution(page)
    barrier = threading.Barrier(6)

    def send(_i):
        try:
            barrier.wait(timeout=30)
            ProofOfWorkField().clean(payload)
            return "accepted"
        except forms.ValidationError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as executor:
        outcomes = list(executor.map(send, range(6)))
    assert sorted(outcomes) == ["accepted"] + ["replay"] * 5


def test_registration_log_in_and_booking_are_refused_without_the_proof(client, pool, proof_of_work):
    start(client, pool)
    response = client.post(DETAILS, details(pool))
    assert response.status_code == 200 and REFUSED in response.content.decode()
    assert not Registration.objects.exists()
    response = client.post(DETAILS, details(pool, altcha=solution(response.content.decode())))
    assert response.status_code == 302 and Registration.objects.count() == 1

    registration = register(pool, first_name="Max")
    other = Client()
    response = log_in(other, registration)
    assert response.status_code == 200 and REFUSED in response.content.decode()
    assert other.get(ACCOUNT).status_code == 302  # not logged in


def test_booking_with_codes_needs_the_proof(client, place, settings):
    slot = make_slot(place.centre, place.biontech, at(5))
    second = make_slot(place.centre, place.biontech, at(27), released=False)
    code = get_codes(client)[0]
    assert client.post("/termin/buchen/", {"code_1": code, "postcode": "48143"}).status_code == 302
    settings.ALTCHA_VERIFICATION_ENABLED = True
    settings.PROOF_OF_WORK_MAX_NUMBER = 2_000
    response = choose(client, slot, second)
    assert response.status_code == 200 and REFUSED in response.content.decode()
    assert not AppointmentPair.objects.exists()
    page = client.get("/termin/buchen/termine/").content.decode()
    response = client.post(
        "/termin/buchen/termine/",
        {
            "option": f"{slot.pk}-{second.pk}",
            "tag": timezone.localdate(slot.start).isoformat(),
            "nonce": client.session["codes_booking"]["value"]["nonce"],
            "altcha": solution(page),
        },
    )
    assert response.status_code == 302 and AppointmentPair.objects.count() == 1


def test_staff_forms_carry_no_proof_of_work(db):
    assert "altcha" not in PhoneRegistrationForm().fields
    assert "altcha" not in SlotChoiceForm(options=[], proof_of_work=False).fields
    assert "altcha" in SlotChoiceForm(options=[]).fields


# --- without JavaScript: a time-lock ----------------------------------------------------


def test_without_javascript_the_page_carries_a_time_lock(client, place, proof_of_work):
    page, form = pin_page(client)
    token = re.search(r'name="altcha_waited" value="(waited:[^"]+)"', page).group(1)
    noscript = re.search(r"<noscript>(.*?)</noscript>", page, re.S).group(1)
    assert "15 Sekunden" in noscript
    # a browser whose script could not run sends the time-lock: too soon, then accepted
    response = client.post("/termin/pin/", {**form, "altcha": "", "altcha_waited": token})
    assert "15 Sekunden, bevor Sie das Formular absenden" in response.content.decode()
    assert not PinRequest.objects.exists()
    proof_of_work.PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS = 0
    page = response.content.decode()
    token = re.search(r'name="altcha_waited" value="(waited:[^"]+)"', page).group(1)
    response = client.post("/termin/pin/", {**form, "altcha_waited": token})
    assert response.status_code == 302 and PinRequest.objects.count() == 1


def test_a_time_lock_sent_too_soon_is_refused(db, proof_of_work):
    with pytest.raises(forms.ValidationError) as error:
        ProofOfWorkField().clean(waited_token_new())
    assert error.value.code == "too_soon"


def test_a_time_lock_that_has_run_out_is_accepted_once(db, proof_of_work):
    proof_of_work.PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS = 0
    token = waited_token_new()
    ProofOfWorkField().clean(token)
    with pytest.raises(forms.ValidationError) as error:
        ProofOfWorkField().clean(token)
    assert error.value.code == "replay"
    with pytest.raises(forms.ValidationError) as error:
        ProofOfWorkField().clean(token[:-3] + "xyz")
    assert error.value.code == "invalid"


def test_time_locks_are_limited_for_the_whole_service(db, proof_of_work):
    proof_of_work.PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS = 0
    proof_of_work.PROOF_OF_WORK_NO_SCRIPT_PER_MINUTE = 2
    used = waited_token_new()
    ProofOfWorkField().clean(used)
    for _i in range(3):  # replays are refused before they can use up the budget
        with pytest.raises(forms.ValidationError) as error:
            ProofOfWorkField().clean(used)
        assert error.value.code == "replay"
    ProofOfWorkField().clean(waited_token_new())
    with pytest.raises(forms.ValidationError) as error:
        ProofOfWorkField().clean(waited_token_new())
    assert error.value.code == "busy"
