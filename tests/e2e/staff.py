"""A staff member's log-in in the browser: Django's admin log-in (the password), then the
code of the authenticator app (a real TOTP device) at /mitarbeiter/code/."""

from __future__ import annotations

from django_otp.oath import totp

from tests.e2e.walk import Walk
from tests.staff.helpers import staff_device

# Django's admin log-in and our second step, in German.
LABELS = {
    "username": "Benutzername",
    "password": "Passwort",
    "totp": "Code aus der Authenticator-App",
    "confirm": "Bestätigen",
}


def current_code(user) -> str:
    """What the staff member's authenticator app shows now."""
    device = staff_device(user)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return str(code).zfill(device.digits)


def submit_with_enter(walk: Walk, field) -> None:
    """Enter in a text field sends its form (implicit submission); the next page is checked."""
    with walk.page.expect_navigation():
        field.press("Enter")
    walk.check_page()


def staff_log_in(walk: Walk, user, password: str, path: str, labels: dict = LABELS) -> None:
    """Open `path`, which sends a stranger to the log-in; give the password, then the code;
    arrive at `path`."""
    page = walk.page
    walk.goto(path)
    assert "/admin/login/" in page.url
    page.get_by_label(labels["username"]).press_sequentially(user.username)
    field = page.get_by_label(labels["password"])
    field.press_sequentially(password)
    submit_with_enter(walk, field)
    assert "/mitarbeiter/code/" in page.url
    page.get_by_label(labels["totp"]).press_sequentially(current_code(user))
    walk.follow(page.get_by_role("button", name=labels["confirm"], exact=True))
    assert page.url == f"{walk.base}{walk.prefix}{path}"
