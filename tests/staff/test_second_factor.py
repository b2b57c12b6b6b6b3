"""The second factor (TOTP) for staff: with a password alone no admin page opens; the code
step, setting up the app end to end, wrong codes refused and throttled, a code used once;
the pages only for the logged-in staff member, never cached, CSRF-protected."""

import base64
import datetime as dt
import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from impftermin.staff.roles import AGENT, OPERATOR
from tests.staff.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOG_IN = reverse("admin:login")
VERIFY = reverse("staff:verify")
ENROL = reverse("staff:enrol")
INDEX = reverse("admin:index")


def code_of(device: TOTPDevice, *, steps: int = 0) -> str:
    """What the staff member's app shows now (or `steps` time steps away)."""
    return f"{totp(device.bin_key, step=device.step, drift=steps):06d}"


def wrong_code(device: TOTPDevice) -> str:
    """A code no step within the device's tolerance accepts."""
    near = {code_of(device, steps=s) for s in range(-2, 3)}
    return next(f"{n:06d}" for n in range(123456, 10**6) if f"{n:06d}" not in near)


def password_log_in(client: Client, username: str, next_url: str = INDEX):
    return client.post(LOG_IN, {"username": username, "password": PASSWORD, "next": next_url})


def admin_urls() -> list[str]:
    """Every page of the admin: the index, each app, each model's list, add and one change
    page, the print batches' download, the password change."""
    urls = [INDEX, reverse("admin:password_change")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse("admin:app_list", args=[meta.app_label]))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[1]))
    urls.append(reverse("admin:registrations_printbatch_pdf", args=[1]))
    return sorted(set(urls))


# --- a password alone opens nothing -------------------------------------------------------


@pytest.mark.parametrize("has_device", [True, False])
def test_with_the_password_alone_no_admin_page_opens(client, member, world, has_device):
    member("boss", is_superuser=True, device=has_device)

    response = password_log_in(client, "boss")

    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    step = ENROL if not has_device else VERIFY
    for url in admin_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(LOG_IN), url
        followed = client.get(url, follow=True)
        assert followed.redirect_chain[-1][0].startswith(step), url
        assert followed.status_code == 200
    # Posting to the admin does nothing either.
    response = client.post(reverse("admin:regions_region_add"), {"name": "X"})
    assert response.status_code == 302 and response["Location"].startswith(LOG_IN)


def test_the_log_in_asks_for_the_code_after_the_password(client, member):
    device = TOTPDevice.objects.get(user=member("op", OPERATOR))
    response = password_log_in(client, "op", "/admin/regions/region/")
    assert response["Location"] == f"{VERIFY}?next=%2Fadmin%2Fregions%2Fregion%2F"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Anmeldung bestätigen" in html and 'autocomplete="one-time-code"' in html
    assert "kern-btn" in html  # our KERN UX page
    session_before = client.session.session_key

    response = client.post(VERIFY, {"code": code_of(device), "next": "/admin/regions/region/"})

    assert response.status_code == 302 and response["Location"] == "/admin/regions/region/"
    assert client.session.session_key != session_before  # a new key for the raised privilege
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/admin/regions/region/").status_code == 200
    # The log-in page sends a verified staff member straight on.
    assert client.get(LOG_IN)["Location"] == INDEX


def test_the_code_may_carry_spaces_but_must_be_six_digits(client, member):
    device = TOTPDevice.objects.get(user=member("op", OPERATOR))
    password_log_in(client, "op")
    for shape in ["", "12345", "1234567", "abcdef"]:
        response = client.post(VERIFY, {"code": shape})
        assert response.status_code == 200
        assert "Bitte geben Sie die 6 Ziffern" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 0  # not a guess: nothing to count
    code = code_of(device)
    assert client.post(VERIFY, {"code": f"{code[:3]} {code[3:]}"}).status_code == 302


# --- setting up the app ---------------------------------------------------------------------


def secret_on(page: str) -> bytes:
    match = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page)
    assert match, "the key is shown as text"
    text = match.group(1).replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


def test_a_staff_member_without_an_app_sets_it_up_end_to_end(client, member):
    user = member("new", AGENT, device=False)
    response = password_log_in(client, "new", "/admin/")
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == f"{ENROL}?next=%2Fadmin%2F"

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Zweiten Faktor einrichten" in html
    assert "<svg" in html and 'role="img"' in html  # the otpauth URI as an inline QR code
    key = secret_on(html)
    assert secret_on(client.get(ENROL).content.decode()) == key  # a reload keeps the key
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed and device.bin_key == key
    assert device.config_url.startswith("otpauth://totp/Impftermin%3Anew?secret=")
    assert client.get(INDEX).status_code == 302  # not yet

    response = client.post(ENROL, {"code": f"{totp(key):06d}", "next": "/admin/"})

    assert response.status_code == 302 and response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(INDEX).status_code == 200
    # Set up once: the page now sends to the code instead of showing a key.
    assert client.get(ENROL).status_code == 302


def test_setting_up_refuses_a_wrong_first_code(client, member):
    user = member("new", AGENT, device=False)
    password_log_in(client, "new")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=user)

    response = client.post(ENROL, {"code": wrong_code(device)})

    assert response.status_code == 200
    assert "Der Code stimmt nicht" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and device.throttling_failure_count == 1
    assert client.get(INDEX).status_code == 302


def test_the_set_up_page_is_only_for_the_logged_in_staff_member(client, member, django_user_model):
    # Nobody logged in, or not staff: to the log-in, no key made.
    for url in [ENROL, VERIFY]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(LOG_IN)
    citizen = django_user_model.objects.create_user("someone", password=PASSWORD)
    client.force_login(citizen)
    assert client.get(ENROL)["Location"].startswith(LOG_IN)
    assert not TOTPDevice.objects.exists()

    # Two staff members: each sees the key of their own device only.
    first, second = Client(), Client()
    member("eins", device=False)
    member("zwei", device=False)
    password_log_in(first, "eins")
    password_log_in(second, "zwei")
    key_one = secret_on(first.get(ENROL).content.decode())
    key_two = secret_on(second.get(ENROL).content.decode())
    assert key_one != key_two
    assert TOTPDevice.objects.get(user__username="eins").bin_key == key_one
    # A staff member with an app set up never sees a key again (no second device).
    member("drei")
    third = Client()
    password_log_in(third, "drei")
    assert third.get(ENROL)["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user__username="drei").count() == 1


def test_the_pages_are_never_cached_and_need_the_csrf_token(member):
    member("op", OPERATOR, device=False)
    client = Client(enforce_csrf_checks=True)
    response = client.get(LOG_IN)
    token = response.cookies["csrftoken"].value
    client.post(LOG_IN, {"username": "op", "password": PASSWORD, "csrfmiddlewaretoken": token})
    for url in [VERIFY, ENROL]:
        response = client.get(url, follow=True)
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url
    assert client.post(ENROL, {"code": "123456"}).status_code == 403
    assert client.post(VERIFY, {"code": "123456"}).status_code == 403


def test_next_leads_only_within_the_site(client, member):
    device = TOTPDevice.objects.get(user=member("op", OPERATOR))
    password_log_in(client, "op", "https://evil.example/")
    response = client.post(VERIFY, {"code": code_of(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == INDEX


# --- wrong codes -----------------------------------------------------------------------------


def test_a_wrong_code_is_refused_and_repeated_wrong_codes_are_throttled(client, member):
    device = TOTPDevice.objects.get(user=member("op", OPERATOR))
    assert device.throttling_enabled
    password_log_in(client, "op")

    response = client.post(VERIFY, {"code": wrong_code(device)})
    assert response.status_code == 200
    assert "Der Code stimmt nicht" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1

    # Straight after a wrong code even the right one is not looked at: wait first.
    response = client.post(VERIFY, {"code": code_of(device)})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Zu viele falsche Codes" in response.content.decode()
    assert client.get(INDEX).status_code == 302

    # Each wrong code doubles the wait: 1, 2, 4, 8 … seconds.
    for failures in range(2, 8):
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_timestamp=timezone.now() - dt.timedelta(hours=1)
        )
        client.post(VERIFY, {"code": wrong_code(device)})
        device.refresh_from_db()
        assert device.throttling_failure_count == failures
        allowed, details = device.verify_is_allowed()
        assert not allowed
        wait = details["locked_until"] - device.throttling_failure_timestamp
        assert wait == dt.timedelta(seconds=2 ** (failures - 1))
    response = client.post(VERIFY, {"code": code_of(device)})
    assert response.status_code == 429 and "Minuten" not in response.content.decode()

    # Once the wait is over, the right code counts and the count starts anew.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(hours=1)
    )
    assert client.post(VERIFY, {"code": code_of(device)}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert client.get(INDEX).status_code == 200


def test_a_code_is_accepted_once(member):
    device = TOTPDevice.objects.get(user=member("op", OPERATOR))
    code = code_of(device)
    first, second = Client(), Client()
    password_log_in(first, "op")
    password_log_in(second, "op")
    assert first.post(VERIFY, {"code": code}).status_code == 302
    response = second.post(VERIFY, {"code": code})
    assert response.status_code == 200 and "Der Code stimmt nicht" in response.content.decode()


# --- log-out and reset ----------------------------------------------------------------------


def test_log_out_before_the_code(client, member):
    member("op", OPERATOR)
    password_log_in(client, "op")
    assert client.get(reverse("staff:log_out")).status_code == 405  # POST only
    response = client.post(reverse("staff:log_out"))
    assert response.status_code == 302 and response["Location"] == LOG_IN
    assert client.get(VERIFY)["Location"].startswith(LOG_IN)


def test_an_admin_resets_a_lost_second_factor(admin_client, member):
    user = member("op", OPERATOR)
    device = TOTPDevice.objects.get(user=user)
    staff = Client()
    password_log_in(staff, "op")
    staff.post(VERIFY, {"code": code_of(device)})
    assert staff.get(INDEX).status_code == 200

    changelist = reverse("admin:otp_totp_totpdevice_changelist")
    page = admin_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200 and device.key not in page.content.decode()
    response = admin_client.post(
        changelist, {"action": "reset", "_selected_action": [device.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=user).exists()

    # The staff member's session is no longer verified: set up a new app.
    assert staff.get(INDEX, follow=True).redirect_chain[-1][0].startswith(ENROL)


def test_nobody_adds_or_edits_devices_in_the_admin(admin_client, member):
    device = TOTPDevice.objects.get(user=member("op", OPERATOR))
    assert admin_client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    url = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    admin_client.post(url, {"key": "00" * 20, "confirmed": "on"})
    device.refresh_from_db()
    assert device.key != "00" * 20


# --- pages outside the admin (the console to come) ---------------------------------------


@pytest.mark.urls("tests.staff.urls")
def test_staff_pages_outside_the_admin_need_the_second_factor(client, member, staff_client):
    agent = member("agent", AGENT)
    password_log_in(client, "agent")
    response = client.get("/konsole-test/")
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Fkonsole-test%2F"
    response = client.post(
        response["Location"],
        {"code": code_of(TOTPDevice.objects.get(user=agent)), "next": "/konsole-test/"},
    )
    assert response["Location"] == "/konsole-test/"
    page = client.get("/konsole-test/")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]

    operator = staff_client(member("op", OPERATOR))
    assert operator.get("/konsole-test/").status_code == 403  # no console permission
    assert Client().get("/konsole-test/")["Location"].startswith(LOG_IN)
