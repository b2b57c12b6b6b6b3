"""The staff roles (staff/roles.py) as auth groups: exactly their permissions, set up
idempotently by `setup_roles`, and what each role can open in the admin."""

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.urls import reverse

from impftermin.core.errors import ServiceError
from impftermin.registrations.letters import print_batch_make
from impftermin.registrations.services import assignments_notify, registrations_assign
from impftermin.staff import roles, services
from impftermin.staff.roles import AGENT, CENTRE_STAFF, OPERATOR, ROLES, SUPERVISOR, Role
from impftermin.staff.services import roles_setup
from tests.factories import at, make_slot
from tests.registrations.helpers import register

pytestmark = pytest.mark.django_db


def group_permissions(role: Role) -> set[str]:
    group = Group.objects.get(name=role.group)
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_each_role_is_a_group_with_exactly_its_permissions():
    roles_setup()
    assert set(Group.objects.values_list("name", flat=True)) >= {role.group for role in ROLES}
    for role in ROLES:
        assert group_permissions(role) == role.permissions, role.key


def test_setup_roles_is_idempotent_and_corrects_hand_made_changes():
    first = roles_setup()
    assert len(first.groups_created) == len(ROLES)
    assert first.permissions_added == sum(len(role.permissions) for role in ROLES)

    again = roles_setup()
    assert (again.groups_created, again.permissions_added, again.permissions_removed) == ([], 0, 0)

    agent = Group.objects.get(name=AGENT.group)
    agent.permissions.add(Permission.objects.get(codename="view_registration"))
    operator = Group.objects.get(name=OPERATOR.group)
    operator.permissions.remove(Permission.objects.get(codename="view_printbatch"))

    corrected = roles_setup()
    assert (corrected.permissions_added, corrected.permissions_removed) == (1, 1)
    for role in ROLES:
        assert group_permissions(role) == role.permissions
    assert Group.objects.filter(name__in=[r.group for r in ROLES]).count() == len(ROLES)


def test_setup_roles_command_reports_and_runs_again_without_change():
    output = io.StringIO()
    call_command("setup_roles", stdout=output)
    assert "Gruppe „Operator“" in output.getvalue()
    output = io.StringIO()
    call_command("setup_roles", stdout=output)
    assert "0 Gruppen neu, 0 Berechtigungen vergeben, 0 entzogen" in output.getvalue()
    for role in ROLES:
        assert group_permissions(role) == role.permissions


def test_what_each_role_may_do():
    # The operator keeps all that the demo operator had (every permission of these apps)
    # and reviews registrations and downloads the print batches; it writes the regions'
    # information pages (issue 11) and manages the API's partners, keys and webhooks
    # (issue 8), reading their deliveries and call log.
    domain = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(
            content_type__app_label__in=[
                "regions",
                "vaccines",
                "centres",
                "booking",
                "information",
            ]
        ).select_related("content_type")
    }
    review = {
        "registrations.view_registration",
        "registrations.change_registration",
        "registrations.view_printbatch",
        "registrations.view_letter",
        "vaccinations.view_vaccination",
    }
    partners = {
        f"api.{action}_{model}"
        for action in ("add", "change", "delete", "view")
        for model in ("partner", "apikey", "webhook")
    } | {"api.view_webhookdelivery", "api.view_partnercall"}
    partners |= {f"waitingroom.{a}_waitingroom" for a in ("add", "change", "delete", "view")}
    assert OPERATOR.permissions == domain | review | partners
    assert AGENT.permissions == {"staff.use_console"}
    assert SUPERVISOR.permissions == AGENT.permissions | {
        "staff.view_call_statistics",
        "audit.view_auditentry",
    }
    assert all(
        name.startswith("booking.view_") or name == "vaccinations.check_in"
        for name in CENTRE_STAFF.permissions
    )
    assert "vaccinations.check_in" in CENTRE_STAFF.permissions
    # Nobody but the superuser manages accounts, and nobody may change the audit log.
    for role in ROLES:
        assert not any(name.startswith("auth.") for name in role.permissions)
        assert not any(
            name.startswith("audit.") and name != "audit.view_auditentry"
            for name in role.permissions
        )


def test_a_permission_of_an_app_not_installed_yet_is_created_ahead(monkeypatch):
    """The grant holds as soon as the app is installed: migrate reuses the content type
    and the permission."""
    future = Role("future", "Future", "Future", frozenset({"futureapp.view_thing"}))
    monkeypatch.setattr(services, "ROLES", (*roles.ROLES, future))

    result = roles_setup()

    assert result.created_ahead == ["futureapp.view_thing"]
    content_type = ContentType.objects.get(app_label="futureapp", model="thing")
    assert Permission.objects.filter(content_type=content_type, codename="view_thing").exists()
    assert group_permissions(future) == {"futureapp.view_thing"}
    assert roles_setup().created_ahead == []


@pytest.mark.parametrize("name", ["booking.fly_slot", "futureapp.fly"])
def test_a_misspelt_permission_is_an_error(monkeypatch, name):
    monkeypatch.setattr(services, "ROLES", (Role("bad", "Bad", "Bad", frozenset({name})),))
    with pytest.raises(ServiceError) as error:
        roles_setup()
    assert error.value.code == "permission_unknown"
    with pytest.raises(CommandError, match=name):
        call_command("setup_roles", stdout=io.StringIO())


# --- in the admin ----------------------------------------------------------------------------


@pytest.fixture
def registration_and_batch(pool):
    """A phone registration, assigned, and the print batch with its letter (R17)."""
    make_slot(pool.centre, pool.biontech, at(10, 9, 30), capacity=3)
    make_slot(pool.centre, pool.biontech, at(32, 14, 15), capacity=3, released=False)
    registration = register(pool, channel="phone", password=None, email="")
    assert registrations_assign() == 1
    assignments_notify(registration_ids=[registration.pk])
    return registration, print_batch_make()


def test_an_agent_cannot_open_registrations_or_print_batches(
    member, staff_client, registration_and_batch
):
    registration, batch = registration_and_batch
    agent = staff_client(member("agent", AGENT))
    assert agent.get(reverse("admin:index")).status_code == 200  # logged in, nothing listed
    for url in [
        reverse("admin:registrations_registration_changelist"),
        reverse("admin:registrations_registration_change", args=[registration.pk]),
        reverse("admin:registrations_printbatch_changelist"),
        reverse("admin:registrations_letter_changelist"),
        reverse("admin:booking_slot_changelist"),
    ]:
        assert agent.get(url).status_code == 403, url
    pdf = reverse("admin:registrations_printbatch_pdf", args=[batch.pk])
    assert agent.get(pdf).status_code == 403
    batch.refresh_from_db()
    assert batch.downloaded_at is None


def test_the_operator_reviews_registrations_and_downloads_print_batches(
    member, staff_client, registration_and_batch
):
    registration, batch = registration_and_batch
    operator = staff_client(member("op", OPERATOR))
    for url in [
        reverse("admin:registrations_registration_change", args=[registration.pk]),
        reverse("admin:registrations_printbatch_changelist"),
        reverse("admin:booking_slot_add"),
        reverse("admin:regions_region_changelist"),
    ]:
        assert operator.get(url).status_code == 200, url
    pdf = operator.get(reverse("admin:registrations_printbatch_pdf", args=[batch.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert operator.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_centre_staff_see_slots_and_pairs_and_change_nothing(member, staff_client, world):
    centre = staff_client(member("centre", CENTRE_STAFF))
    assert centre.get(reverse("admin:booking_slot_changelist")).status_code == 200
    assert centre.get(reverse("admin:booking_appointmentpair_changelist")).status_code == 200
    assert centre.get(reverse("admin:booking_slot_add")).status_code == 403
    assert centre.get(reverse("admin:registrations_registration_changelist")).status_code == 403
