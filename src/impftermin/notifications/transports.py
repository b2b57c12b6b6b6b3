"""How a message leaves: e-mail through Django's e-mail backends, SMS through a small
backend interface of our own. A transport raises TemporaryFailure (try again later) or
PermanentFailure (give up); anything else is a temporary failure too."""

from __future__ import annotations

import json
import smtplib
import sys
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.utils import timezone
from django.utils.module_loading import import_string


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


def outbox_file(kind: str, suffix: str) -> Path:
    """A new file in the development outbox; names sort oldest first, newest last."""
    folder = Path(settings.OUTBOX_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{kind}{suffix}"
    counter = 1
    while path.exists():
        path = folder / f"{stamp}-{kind}-{counter}{suffix}"
        counter += 1
    return path


class ConsoleFileEmailBackend(ConsoleEmailBackend):
    """Development: print each e-mail and also keep it as a file in the outbox."""

    def write_message(self, message):
        super().write_message(message)
        outbox_file("email", ".eml").write_bytes(message.message().as_bytes())


# --- SMS ---------------------------------------------------------------------------------


class SmsBackend:
    def send(self, *, to: str, text: str) -> None:
        raise NotImplementedError


class ConsoleFileSmsBackend(SmsBackend):
    """Development: print each SMS and also keep it as a file in the outbox."""

    def send(self, *, to: str, text: str) -> None:
        rendered = f"SMS an/to {to}\n\n{text}\n"
        sys.stdout.write(f"{rendered}{'-' * 79}\n")
        sys.stdout.flush()
        outbox_file("sms", ".txt").write_text(rendered, encoding="utf-8")


class HttpGatewaySmsBackend(SmsBackend):
    """Production: POST to an SMS gateway. URL, token and the JSON body template come from
    settings; the template's {to}, {text} and {sender} are filled in JSON-escaped."""

    def send(self, *, to: str, text: str) -> None:
        values = {
            k: json.dumps(v)[1:-1]
            for k, v in {"to": to, "text": text, "sender": settings.SMS_SENDER}.items()
        }
        body = settings.SMS_GATEWAY_BODY.format(**values).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the operator's configured https URL
            settings.SMS_GATEWAY_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_GATEWAY_TIMEOUT):  # noqa: S310
                return
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500 and error.code not in (408, 429):
                raise PermanentFailure(f"gateway refused: HTTP {error.code}") from error
            raise TemporaryFailure(f"gateway: HTTP {error.code}") from error
        except (urllib.error.URLError, OSError) as error:
            raise TemporaryFailure(f"gateway unreachable: {error}") from error


def sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


# --- sending -----------------------------------------------------------------------------


def send_email(
    *, to: str, subject: str, body: str, attachment: tuple[str, str, str] | None = None
) -> None:
    """`attachment`: (file name, text content, MIME type)."""
    message = EmailMessage(subject=subject, body=body, to=[to])
    if attachment is not None:
        message.attach(*attachment)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        raise PermanentFailure(f"recipient refused: {error.recipients}") from error
    except (smtplib.SMTPException, OSError) as error:
        raise TemporaryFailure(f"{type(error).__name__}: {error}") from error


def send_sms(*, to: str, text: str) -> None:
    sms_backend().send(to=to, text=text)
