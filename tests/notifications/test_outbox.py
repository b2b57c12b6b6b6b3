"""Message delivery: written with the change that causes it, sent by the worker over real
SMTP (aiosmtpd) or an SMS backend, retried with back-off, never lost, never sent twice."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from impftermin.core.errors import ServiceError
from impftermin.notifications import services
from impftermin.notifications.models import MessageStatus, OutboundMessage
from tests.mail import SMTP, free_port, run_worker


def send_mail_later(to="person@example.org"):
    with transaction.atomic():
        return services.message_send_later(
            channel="email",
            kind="test",
            recipient=to,
            subject="Ihre Termine",
            body="Erster Termin: …",
        )


@pytest.mark.django_db(transaction=True)
def test_R2_mail_is_sent_by_the_worker_over_smtp(smtp):
    smtp.start()
    message = send_mail_later()
    assert message.status == MessageStatus.PENDING
    run_worker()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 1
    assert [e.rcpt_tos for e in smtp.inbox.envelopes] == [["person@example.org"]]
    assert b"Ihre Termine" in smtp.inbox.envelopes[0].content


@pytest.mark.django_db(transaction=True)
def test_a_change_rolled_back_sends_no_message(smtp):
    smtp.start()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_send_later(
            channel="email", kind="test", recipient="a@example.org", body="x"
        )
        raise RuntimeError("the booking failed")
    run_worker()
    assert not OutboundMessage.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert smtp.inbox.envelopes == []


@pytest.mark.django_db(transaction=True)
def test_smtp_down_the_mail_is_retried_and_sent_once_when_it_is_back(smtp):
    message = send_mail_later()
    run_worker()  # nothing listens on the port
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.attempts == 1
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()
    assert message.next_attempt_at > timezone.now()
    run_worker()  # not due yet: nothing happens
    message.refresh_from_db()
    assert message.attempts == 1

    smtp.start()
    # time passes: the retry is due
    past = timezone.now() - dt.timedelta(seconds=1)
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=past)
    DBTaskResult.objects.filter(status="READY").update(run_after=past)
    run_worker()
    run_worker()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    assert len(smtp.inbox.envelopes) == 1, "sent exactly once"


@pytest.mark.django_db
def test_a_message_is_claimed_by_one_sender_only(settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path
    message = services.message_send_later(
        channel="sms", kind="sms_pin", recipient="+4915112345678", body="PIN 123456"
    )
    assert services.message_deliver(message_id=message.pk) == "sent"
    assert services.message_deliver(message_id=message.pk) == "skipped"
    assert len(list(tmp_path.iterdir())) == 1


def test_retry_delay_grows_and_is_capped():
    delays = [services.retry_delay(n) for n in range(1, 15)]
    assert delays[0] == dt.timedelta(seconds=30)
    assert delays == sorted(delays)
    assert delays[-1] == dt.timedelta(hours=1)


@pytest.mark.django_db
def test_after_the_last_attempt_the_message_is_failed_and_visible(settings):
    settings.EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    message = services.message_send_later(
        channel="email", kind="test", recipient="a@example.org", body="x"
    )
    OutboundMessage.objects.filter(pk=message.pk).update(attempts=services.MAX_ATTEMPTS - 1)
    assert services.message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.last_error
    services.message_retry_now(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"channel": "fax"}, "channel_invalid"),
        ({"recipient": ""}, "recipient_invalid"),
        ({"recipient": None}, "recipient_invalid"),
        ({"body": "  "}, "body_missing"),
    ],
    ids=["unknown-channel", "empty-recipient", "no-recipient", "empty-text"],
)
def test_bad_message_input_is_refused_and_nothing_queued(fields, code):
    arguments = {
        "channel": "email",
        "kind": "test",
        "recipient": "a@example.org",
        "body": "x",
    } | fields
    with pytest.raises(ServiceError) as error:
        services.message_send_later(**arguments)
    assert error.value.code == code
    assert not OutboundMessage.objects.exists() and not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_development_prints_every_sms_and_email_and_keeps_a_file_each_newest_last(
    settings, tmp_path, capsys
):
    settings.OUTBOX_DIR = tmp_path
    settings.EMAIL_BACKEND = "impftermin.notifications.transports.ConsoleFileEmailBackend"
    first = services.message_send_later(
        channel="sms", kind="sms_pin", recipient="+4915112345678", body="PIN 111111"
    )
    second = services.message_send_later(
        channel="email",
        kind="codes",
        recipient="a@example.org",
        subject="Codes",
        body="ABCD-EFGH-JKLM",
    )
    third = services.message_send_later(
        channel="sms", kind="sms_pin", recipient="+4915112345678", body="PIN 222222"
    )
    for message in (first, second, third):
        assert services.message_deliver(message_id=message.pk) == "sent"
    files = sorted(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".txt", ".eml", ".txt"]
    assert "PIN 222222" in files[-1].read_text(encoding="utf-8")
    assert "ABCD-EFGH-JKLM" in files[1].read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    assert "PIN 111111" in printed and "ABCD-EFGH-JKLM" in printed


class Gateway(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Gateway.received.append(
            {"auth": self.headers["Authorization"], "body": json.loads(self.rfile.read(length))}
        )
        self.send_response(Gateway.answers.pop(0))
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "impftermin.notifications.transports.HttpGatewaySmsBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.SMS_GATEWAY_TOKEN = "secret-token"
    Gateway.answers, Gateway.received = [], []
    yield Gateway
    server.shutdown()


@pytest.mark.django_db
def test_sms_gateway_gets_the_text_json_escaped_and_temporary_errors_are_retried(gateway):
    gateway.answers = [503, 200]
    text = 'Ihre PIN: 123456 "gültig" 10 Minuten\nImpftermin'
    message = services.message_send_later(
        channel="sms", kind="sms_pin", recipient="+4915112345678", body=text
    )
    assert services.message_deliver(message_id=message.pk) == "retry"
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert services.message_deliver(message_id=message.pk) == "sent"
    assert [r["body"] for r in gateway.received] == [
        {"from": "Impftermin", "to": "+4915112345678", "text": text}
    ] * 2
    assert gateway.received[0]["auth"] == "Bearer secret-token"


@pytest.mark.django_db
def test_sms_gateway_refusing_a_number_fails_the_message_at_once(gateway):
    gateway.answers = [400]
    message = services.message_send_later(
        channel="sms", kind="sms_pin", recipient="+999", body="PIN"
    )
    assert services.message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "400" in message.last_error
