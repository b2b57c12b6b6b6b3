"""A real SMTP server (aiosmtpd) on loopback for the tests, and the worker that sends."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from django.core.management import call_command

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def latest(self, subject_part: str) -> EmailMessage:
        """The newest mail whose subject contains `subject_part`."""
        for message in reversed(self.messages()):
            if subject_part in message["subject"]:
                return message
        raise AssertionError(f"no mail with {subject_part!r} among {len(self.envelopes)}")


class SmtpServer:
    """A real SMTP server on loopback that can be started and stopped on a fixed port."""

    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


def run_worker():
    """Run the queued tasks (message delivery) once, as the worker process would."""
    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
