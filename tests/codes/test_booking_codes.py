"""R2: a correct PIN mails a single-use, expiring link; following it mails the booking
codes — two for a pair, one for a single dose — stored only as keyed hashes."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from impftermin.codes.models import BookingCode, CodeSet, EmailVerification
from impftermin.codes.services import (
    CODE_ALPHABET,
    email_link_confirm,
    format_code,
    normalise_code,
    pin_request,
    pin_verify,
)
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.regions.models import BookingMode
from tests.codes.helpers import pin_from_sms
from tests.factories import make_region

CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


@pytest.fixture
def region(db):
    return make_region(name="Westfalen-Lippe", slug="wl", booking_mode=BookingMode.CODES)


def verified(region, **kwargs):
    sent = pin_request(
        region_id=region.pk, mobile="0151 12345678", email="person@example.org", **kwargs
    )
    pin_verify(token=sent.token, pin=pin_from_sms())


def link_from_mail() -> str:
    body = OutboundMessage.objects.filter(kind="email_verification").latest("id").body
    return re.search(r"https?://\S+", body).group(0)


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def test_R2_correct_pin_mails_a_verification_link(region):
    verified(region)
    mail = OutboundMessage.objects.get(kind="email_verification")
    assert mail.recipient == "person@example.org" and mail.channel == "email"
    assert "/termin/email-bestaetigen/" in link_from_mail()
    # R26 (issue 11 item 4): free of charge, nobody asks for money or comes unannounced
    assert "kostenlos" in mail.body and "unangemeldet" in mail.body


def test_R2_link_in_english_for_an_english_request(region):
    verified(region, language="en")
    assert "/en/termin/" in link_from_mail()


def test_R2_following_the_link_mails_two_codes_for_a_pair(region, client):
    verified(region)
    path = path_of(link_from_mail())
    page = client.get(path)
    assert page.status_code == 200 and b"<form" in page.content
    assert not CodeSet.objects.exists(), "opening the link (e.g. by a mail scanner) uses nothing"
    done = client.post(path)
    assert done.status_code == 200
    mail = OutboundMessage.objects.get(kind="booking_codes")
    codes = CODE.findall(mail.body)
    assert len(codes) == 2 and codes[0] != codes[1]
    stored = set(BookingCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 2 and not any(code.replace("-", "") in "".join(stored) for code in codes)


def test_R2_single_dose_gets_one_code(region):
    verified(region, single_dose=True)
    token = link_from_mail().rstrip("/").rsplit("/", 1)[-1]
    email_link_confirm(token=token)
    assert len(CODE.findall(OutboundMessage.objects.get(kind="booking_codes").body)) == 1


def test_R2_used_link_is_refused(region, client):
    verified(region)
    path = path_of(link_from_mail())
    client.post(path)
    again = client.post(path)
    assert again.status_code == 410
    assert (
        CodeSet.objects.count() == 1
        and OutboundMessage.objects.filter(kind="booking_codes").count() == 1
    )


def test_R2_expired_link_is_refused(region, client):
    verified(region)
    EmailVerification.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post(path_of(link_from_mail()))
    assert response.status_code == 410
    assert not CodeSet.objects.exists()


@pytest.mark.parametrize("token", ["nonsense", "x" * 150], ids=["unknown", "too-long"])
def test_R2_unknown_link_is_refused(db, client, token):
    response = client.post(f"/termin/email-bestaetigen/{token}/")
    assert response.status_code == 404
    assert "ungültig" in response.content.decode()


def test_codes_accepted_with_or_without_dashes_in_any_case():
    assert normalise_code("abcd-efgh-jkmn") == "ABCDEFGHJKMN"
    assert normalise_code(" ABCD EFGH JKMN ") == "ABCDEFGHJKMN"
    assert format_code("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"


@pytest.mark.parametrize(
    "text",
    [
        "ABCD-EFGH-JKM",
        "ABCD-EFGH-JKMNP",
        "ABCD-EFGH-JK0N",
        "ABCD-EFGH-JKIN",
        "ABCD-EFGH-JK1N",
        "",
        None,
    ],
    ids=["short", "long", "zero", "letter-i", "one", "empty", "none"],
)
def test_malformed_codes_are_refused_clearly(text):
    with pytest.raises(ServiceError) as error:
        normalise_code(text)
    assert error.value.code == "code_format" and "12" in error.value.message


def test_code_alphabet_has_no_look_alikes():
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert len(set(CODE_ALPHABET)) == len(CODE_ALPHABET) == 31
