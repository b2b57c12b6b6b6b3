"""Audited back-office pages (issue 6, item 5): every view, search, decision and export of
personal data by staff leaves an entry; the audit log itself is read-only for everybody
and visible only with its view permission."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone, translation

from impftermin.audit.models import AuditEntry
from impftermin.audit.services import audit_record
from impftermin.notifications.models import OutboundMessage
from impftermin.registrations.models import Registration, RegistrationStatus
from tests.audit.helpers import staff
from tests.registrations.helpers import register
from tests.staff.helpers import verified_log_in

REGISTRATIONS = "/admin/registrations/registration/"


def entries() -> list[tuple]:
    return list(
        AuditEntry.objects.order_by("id").values_list(
            "username", "action", "what", "which", "why", "detail"
        )
    )


def held(pool, first_name: str, year: int) -> Registration:
    """A registration the population register does not know: held for review (R14)."""
    registration = register(pool, first_name=first_name, birth_date=dt.date(year, 1, 1))
    assert registration.status == RegistrationStatus.REVIEW
    return registration


# --- registrations ---------------------------------------------------------------------------


def test_every_registration_view_in_the_back_office_is_audited(pool, client):
    registration = register(pool)
    verified_log_in(client, staff("clerk", "view_registration"))
    url = f"{REGISTRATIONS}{registration.pk}/change/"

    response = client.get(url)
    assert response.status_code == 200
    assert "Muster" in response.content.decode()
    assert client.get(url).status_code == 200
    assert client.get(f"/en{url}").status_code == 200

    view = ("clerk", "view", "registration", str(registration.pk), "", "")
    assert entries() == [view, view, view]
    # The record is named by its pk, never by its Vorgangskennung.
    assert registration.vorgangskennung not in str(entries())


def test_no_view_is_audited_when_nothing_is_shown(pool, client):
    registration = register(pool)
    verified_log_in(client, staff("nobody"))
    assert client.get(f"{REGISTRATIONS}{registration.pk}/change/").status_code == 403
    verified_log_in(client, staff("clerk", "view_registration"))
    assert client.get(f"{REGISTRATIONS}999999/change/").status_code == 302  # no such record
    assert entries() == []


def test_a_registration_search_is_audited_as_a_lookup_without_the_search_term(pool, client):
    registration = register(pool)
    verified_log_in(client, staff("clerk", "view_registration"))

    client.get(REGISTRATIONS)
    client.get(REGISTRATIONS, {"status__exact": RegistrationStatus.WAITING})
    assert entries() == []  # a list without a search names nobody in particular

    response = client.get(REGISTRATIONS, {"q": registration.vorgangskennung})
    assert list(response.context["cl"].result_list) == [registration]
    response = client.get(REGISTRATIONS, {"q": "ABCD-EFGH-JKMN"})
    assert list(response.context["cl"].result_list) == []

    assert entries() == [
        ("clerk", "lookup", "registration", str(registration.pk), "", "search"),
        ("clerk", "lookup", "registration", "", "", "search"),
    ]
    assert registration.vorgangskennung not in str(entries())
    assert "ABCD" not in str(entries())


def test_each_review_decision_in_the_back_office_is_audited_once_per_registration(pool, client):
    erik, hans, paul = held(pool, "Erik", 1951), held(pool, "Hans", 1952), held(pool, "Paul", 1953)
    waiting = register(pool)
    verified_log_in(client, staff("operator", "view_registration", "change_registration"))

    response = client.post(
        REGISTRATIONS,
        {"action": "confirm", "_selected_action": [erik.pk, hans.pk, waiting.pk]},
        follow=True,
    )
    assert response.status_code == 200
    client.post(REGISTRATIONS, {"action": "refuse", "_selected_action": [paul.pk]}, follow=True)

    assert Registration.objects.get(pk=erik.pk).status == RegistrationStatus.WAITING
    assert Registration.objects.get(pk=paul.pk).status == RegistrationStatus.DELETED
    confirmed = ("operator", "change", "registration")
    assert entries() == [
        (*confirmed, str(erik.pk), "", "review confirmed"),
        (*confirmed, str(hans.pk), "", "review confirmed"),
        (*confirmed, str(paul.pk), "", "review refused, personal data erased"),
    ]  # nothing for the registration that was not in review: it was not touched


# --- print batches and messages --------------------------------------------------------------


def test_every_print_batch_download_is_audited_as_an_export(batch, client):
    url = f"/admin/registrations/printbatch/{batch.pk}/pdf/"
    verified_log_in(client, staff("clerk"))
    assert client.get(url).status_code == 403
    verified_log_in(client, staff("printer", "view_printbatch"))
    assert client.get("/admin/registrations/printbatch/999999/pdf/").status_code == 404
    assert entries() == []

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    client.get(url)

    export = ("printer", "export", "print_batch", str(batch.pk), "", "pdf")
    assert entries() == [export, export]
    # The batch's own page shows no personal data and is not audited.
    assert client.get(f"/admin/registrations/printbatch/{batch.pk}/change/").status_code == 200
    assert len(entries()) == 2


def test_opening_an_outbound_message_is_audited(db, client):
    message = OutboundMessage.objects.create(
        channel="email",
        kind="registration_confirmation",
        recipient="erika@example.org",
        subject="Ihre Registrierung",
        body="…",
    )
    verified_log_in(client, staff("operator", "view_outboundmessage"))
    url = "/admin/notifications/outboundmessage/"
    assert client.get(url, {"q": "erika"}).status_code == 200  # the list has no search
    assert entries() == []

    response = client.get(f"{url}{message.pk}/change/")
    assert "erika@example.org" in response.content.decode()
    assert entries() == [("operator", "view", "outbound_message", str(message.pk), "", "")]


def test_nothing_is_shown_or_changed_when_the_audit_log_cannot_be_written(
    pool, batch, client, monkeypatch
):
    def unavailable(**kwargs):
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr("impftermin.audit.admin.audit_record", unavailable)
    monkeypatch.setattr("impftermin.registrations.admin.audit_record", unavailable)
    erik = held(pool, "Erik", 1951)
    verified_log_in(
        client, staff("operator", "view_registration", "change_registration", "view_printbatch")
    )

    with pytest.raises(DatabaseError):
        client.get(f"{REGISTRATIONS}{erik.pk}/change/")
    with pytest.raises(DatabaseError):
        client.get(REGISTRATIONS, {"q": erik.vorgangskennung})
    with pytest.raises(DatabaseError):
        client.post(REGISTRATIONS, {"action": "confirm", "_selected_action": [erik.pk]})
    with pytest.raises(DatabaseError):
        client.get(f"/admin/registrations/printbatch/{batch.pk}/pdf/")

    erik.refresh_from_db()
    assert erik.status == RegistrationStatus.REVIEW  # the decision was rolled back
    assert entries() == []


# --- the audit log in the back office --------------------------------------------------------


def audit_url(view: str, *args) -> str:
    with translation.override("de"):
        return reverse(f"admin:audit_auditentry_{view}", args=args)


def test_the_back_office_offers_no_add_change_or_delete_of_entries_even_to_a_superuser(
    admin_client, admin_user
):
    entry = audit_record(user=admin_user, action="view", what="registration", which=7, why="x")

    assert admin_client.get(audit_url("add")).status_code == 403
    assert admin_client.post(audit_url("add"), {"which": "8"}).status_code == 403
    page = admin_client.get(audit_url("change", entry.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert page.context["has_delete_permission"] is False
    assert admin_client.post(audit_url("change", entry.pk), {"why": "y"}).status_code == 403
    assert admin_client.get(audit_url("delete", entry.pk)).status_code == 403
    assert admin_client.post(audit_url("delete", entry.pk), {"post": "yes"}).status_code == 403

    listing = admin_client.get(audit_url("changelist"))
    assert listing.context["has_add_permission"] is False
    assert listing.context["action_form"] is None  # no "delete selected"
    response = admin_client.post(
        audit_url("changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert response.status_code == 200  # shown again, nothing done
    assert AuditEntry.objects.filter(pk=entry.pk, why="x", which="7").exists()


def test_only_staff_with_the_view_permission_see_the_audit_log(pool, client, django_user_model):
    registration = register(pool)
    clerk = staff("clerk", "view_registration")
    verified_log_in(client, clerk)
    client.get(f"{REGISTRATIONS}{registration.pk}/change/")
    entry = AuditEntry.objects.get()

    assert client.get(audit_url("changelist")).status_code == 403
    assert client.get(audit_url("change", entry.pk)).status_code == 403
    assert "/admin/audit/" not in client.get("/admin/").content.decode()

    outsider = django_user_model.objects.create_user("outsider", password="x")
    outsider.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    verified_log_in(client, outsider)  # the permission without staff status opens nothing
    assert client.get(audit_url("changelist")).status_code == 302

    verified_log_in(client, staff("supervisor", "view_auditentry"))
    assert "/admin/audit/auditentry/" in client.get("/admin/").content.decode()
    response = client.get(audit_url("changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [entry]
    assert "clerk" in response.content.decode()
    assert client.get(audit_url("change", entry.pk)).status_code == 200


def test_supervisors_filter_and_search_the_audit_log(db, client):
    clerk, printer = staff("clerk"), staff("printer")
    viewed = audit_record(user=clerk, action="view", what="registration", which=11)
    exported = audit_record(user=printer, action="export", what="print_batch", which=3)
    verified_log_in(client, staff("supervisor", "view_auditentry"))
    url = audit_url("changelist")

    def shown(**params) -> list[AuditEntry]:
        response = client.get(url, params)
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert shown() == [exported, viewed]
    assert shown(action__exact="export") == [exported]
    assert shown(what__exact="registration") == [viewed]
    assert shown(q="clerk") == [viewed]
    assert shown(q="3") == [exported]  # the record's id exactly, not every id with a 3
    today = timezone.localdate()
    assert shown(at__year=today.year, at__month=today.month, at__day=today.day) == [
        exported,
        viewed,
    ]
    assert shown(at__year=today.year - 1) == []
