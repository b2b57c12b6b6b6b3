"""Issue 10, item 7: the worker killed while it sends a mail loses nothing and sends
nothing twice. A real worker process (manage.py db_worker) talks to a real SMTP server
that stalls before accepting the mail; the worker is killed (SIGKILL) in the middle; the
claim's lease runs out, `messages_resume` enqueues the delivery again, and the next worker
sends it — once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from impftermin.notifications import services
from impftermin.notifications.models import MessageStatus, OutboundMessage
from tests.mail import SMTP, Inbox, SmtpServer, free_port, run_worker
from tests.notifications.test_outbox import send_mail_later

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


class StallingInbox(Inbox):
    """Holds the mail's DATA unanswered while `stalling` (the server is slow, or the
    network gone), then refuses it without keeping it: not delivered."""

    def __init__(self):
        super().__init__()
        self.stalling = True
        self.reached = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.stalling:
            return await super().handle_DATA(server, session, envelope)
        self.reached.set()
        while self.stalling:
            await asyncio.sleep(0.05)
        return "451 try again later"


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_worker_killed_while_sending_the_mail_is_sent_once_later(capsys):
    smtp = SmtpServer(free_port())
    smtp.inbox = StallingInbox()
    smtp.start()
    worker = None
    try:
        with override_settings(EMAIL_BACKEND=SMTP, EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp.port):
            message = send_mail_later()
            environment = os.environ | {
                "DATABASE_URL": database_url(),
                "EMAIL_BACKEND": SMTP,
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(smtp.port),
                "DJANGO_SETTINGS_MODULE": "impftermin.settings",
            }
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            assert smtp.inbox.reached.wait(60), "the worker never reached the SMTP server"
            message.refresh_from_db()
            assert message.status == MessageStatus.SENDING and message.attempts == 1
            worker.send_signal(signal.SIGKILL)  # in the middle of sending
            worker.wait(30)
            smtp.inbox.stalling = False  # the server is fine again

            # Within the claim's lease nobody takes the message over ...
            assert services.messages_resume() == 0
            assert services.message_deliver(message_id=message.pk) == "skipped"
            # ... once it has run out, the delivery is enqueued again and sent.
            run_out = timezone.now() - dt.timedelta(seconds=1)
            OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=run_out)
            assert services.messages_resume() == 1
            run_worker()
            run_worker()
            message.refresh_from_db()
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        smtp.inbox.stalling = False
        smtp.stop()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    delivered = len(smtp.inbox.envelopes)
    assert delivered == 1, "sent exactly once"
    with capsys.disabled():
        print(
            f"\nworker killed mid-send: attempts {message.attempts}, delivered {delivered},"
            f" lost 0, twice 0"
        )


@pytest.mark.django_db
def test_messages_whose_task_was_lost_are_enqueued_again(settings, tmp_path):
    """A pending message due for longer than STALLED_AFTER (its task never ran) is
    resumed; one just written, one waiting for its retry, and a sent one are not."""
    settings.OUTBOX_DIR = tmp_path
    lost = send_mail_later("lost@example.org")
    fresh = send_mail_later("fresh@example.org")
    later = send_mail_later("later@example.org")
    sent = send_mail_later("sent@example.org")
    now = timezone.now()
    OutboundMessage.objects.filter(pk=lost.pk).update(created_at=now - dt.timedelta(minutes=5))
    OutboundMessage.objects.filter(pk=later.pk).update(
        created_at=now - dt.timedelta(minutes=5), next_attempt_at=now + dt.timedelta(minutes=5)
    )
    OutboundMessage.objects.filter(pk=sent.pk).update(
        status=MessageStatus.SENT, sent_at=now, created_at=now - dt.timedelta(minutes=5)
    )
    from django_tasks_db.models import DBTaskResult

    before = DBTaskResult.objects.count()
    assert services.messages_resume() == 1
    task = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert DBTaskResult.objects.count() == before + 1
    assert task.args_kwargs["args"] == [[lost.pk]]
    assert fresh.pk not in task.args_kwargs["args"][0]


@pytest.mark.django_db
def test_a_worker_that_outlived_its_claim_changes_nothing(settings, tmp_path):
    """Worker A's claim ran out, worker B took the message over and sent it; A's late
    outcome (a retry, a failure) does not undo B's."""
    settings.OUTBOX_DIR = tmp_path
    message = send_mail_later("late@example.org")
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, attempts=1, next_attempt_at=timezone.now()
    )
    stale = OutboundMessage.objects.get(pk=message.pk)  # what worker A holds
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.message_deliver(message_id=message.pk) == "sent"  # worker B
    services._retry_later(stale, timezone.now(), "A's late error")
    services._finish(stale, MessageStatus.FAILED, "A's late error")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    assert message.last_error == ""
