import os

import pytest
from django.conf import settings

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def uses_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture(autouse=True)
def _postgres_required(request):
    """Tests marked `postgres` need real concurrency. Under CI a missing PostgreSQL is a
    failure, never a skip; on a developer's SQLite run they are skipped with the reason."""
    if request.node.get_closest_marker("postgres") is None or uses_postgres():
        return
    message = (
        "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/impftermin"
    )
    if CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's superuser client, also past the second factor (a real TOTP device
    verified in the session), which every admin page requires (impftermin/staff)."""
    from django.test import Client

    from tests.staff.helpers import verified_log_in

    client = Client()
    verified_log_in(client, admin_user)
    return client


@pytest.fixture
def staff_client(db):
    """staff_client(user): a new test client logged in as `user` with the password and a
    verified second factor."""
    from django.test import Client

    from tests.staff.helpers import verified_log_in

    def log_in(user):
        client = Client()
        verified_log_in(client, user)
        return client

    return log_in


@pytest.fixture
def world(db):
    """A small region with one district, one centre and its capacities (see factories)."""
    from tests import factories

    return factories.make_world()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in English must not leave
    English active for the next test (texts and dates are formatted in the active one)."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def smtp():
    """A real SMTP server on loopback (not yet started) that Django's SMTP backend uses."""
    from django.test import override_settings

    from tests.mail import SMTP, SmtpServer, free_port

    server = SmtpServer(free_port())
    with override_settings(
        EMAIL_BACKEND=SMTP, EMAIL_HOST="127.0.0.1", EMAIL_PORT=server.port, EMAIL_TIMEOUT=5
    ):
        yield server
    server.stop()


@pytest.fixture
def pool(world, settings, tmp_path):
    """The test world as a region in assignment mode, with a population register file."""
    from impftermin.regions.models import BookingMode
    from tests.factories import make_postcode
    from tests.registrations.helpers import REGISTER

    world.region.booking_mode = BookingMode.ASSIGNMENT
    world.region.save()
    make_postcode("48143", world.district)
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    settings.POPULATION_REGISTER_FILE = register
    return world


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: request-rate counters, cached settings and
    answers of one test must not reach the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _proof_of_work_off(settings):
    """The pages' tests post forms as a browser would after its proof of work; the proof
    itself (issue 9) has tests of its own, which switch it on (tests/core/
    test_proof_of_work.py, and a real browser solving it in tests/e2e/)."""
    settings.ALTCHA_VERIFICATION_ENABLED = False


@pytest.fixture(autouse=True)
def _no_sms_cooldown(settings):
    """Tests ask for several PINs for one number in a row (R3); the cooldown between two
    (issue 9) has tests of its own, which set it."""
    settings.SMS_PIN_COOLDOWN_SECONDS = 0


@pytest.fixture
def keep_connection(db):
    """For requests made outside Django's test client (schemathesis' WSGI calls), as the
    test client does: the test's transaction stays open across requests."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
