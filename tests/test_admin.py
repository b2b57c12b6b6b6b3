"""The operator back office (Django admin) across the domain apps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from impftermin.booking import services as booking_services
from impftermin.booking.models import AppointmentPair, PairStatus, Slot
from impftermin.centres.models import Centre
from impftermin.regions.models import Postcode
from impftermin.vaccines.models import Delivery
from tests.factories import (
    at,
    make_centre,
    make_delivery,
    make_district,
    make_postcode,
    make_region,
    make_slot,
)
from tests.staff.helpers import verified_log_in

DOMAIN_APPS = ["regions", "vaccines", "centres", "booking"]


def admin_url(model, view: str, *args) -> str:
    """The German admin's URL, whatever language the last request left active."""
    with translation.override("de"):
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def action_names(response) -> list[str]:
    action_form = response.context["action_form"]
    if action_form is None:
        return []
    return [name for name, _label in action_form.fields["action"].choices]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def run_action(client, model, action: str, objects, **extra):
    return client.post(
        admin_url(model, "changelist"),
        {"action": action, "_selected_action": [o.pk for o in objects], **extra},
        follow=True,
    )


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.org", "pw-admin-1")


@pytest.fixture
def operator(db, django_user_model):
    user = django_user_model.objects.create_user("operator", password="pw-operator-1")
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS))
    return user


@pytest.fixture
def admin_client(client, superuser):
    verified_log_in(client, superuser)
    return client


@pytest.fixture
def operator_client(client, operator):
    verified_log_in(client, operator)
    return client


@pytest.fixture
def booked(world):
    """A pair booked through the service: first dose in 3 days, second in 30."""
    first = make_slot(world.centre, world.biontech, at(3), capacity=2)
    second = make_slot(world.centre, world.biontech, at(30), capacity=2)
    result = booking_services.pair_book(
        holder="h1", district_id=world.district.pk, first_slot_id=first.pk
    )
    assert result.booked
    return result.pairs[0], first, second


@pytest.fixture
def full_world(world, booked):
    """Something of everything, so that every change page has an object to show."""
    from impftermin.vaccines.services import delivery_record

    make_postcode("48143", world.district)
    delivery_record(
        region_id=world.region.pk,
        vaccine_id=world.biontech.pk,
        doses=1000,
        delivered_on=timezone.localdate(),
    )
    return world


# --- every page answers ------------------------------------------------------------------


@pytest.mark.parametrize("user", ["superuser", "operator"])
def test_every_registered_model_has_working_pages(request, client, full_world, user):
    verified_log_in(client, request.getfixturevalue(user))
    checked = 0
    for model, model_admin in admin.site._registry.items():
        app = model._meta.app_label
        if user == "operator" and app not in DOMAIN_APPS:
            continue
        response = client.get(admin_url(model, "changelist"))
        assert response.status_code == 200, (model, "changelist")
        response = client.get(admin_url(model, "changelist"), {"q": "x"})
        assert response.status_code == 200, (model, "search")
        if model_admin.has_add_permission(response.wsgi_request):
            assert client.get(admin_url(model, "add")).status_code == 200, (model, "add")
        obj = model._default_manager.first()
        if obj is not None:
            response = client.get(admin_url(model, "change", obj.pk))
            assert response.status_code == 200, (model, "change")
        checked += 1
    assert checked >= 8


def test_index_and_titles(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Impftermin – Verwaltung" in response.content.decode()  # noqa: RUF001


def test_english_admin_answers(admin_client, full_world):
    for path in ["/en/admin/", "/en/admin/booking/slot/", "/en/admin/vaccines/delivery/add/"]:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert response.wsgi_request.LANGUAGE_CODE == "en"


def test_anonymous_is_sent_to_login(client, world):
    for path in ["/admin/", "/admin/booking/slot/", "/en/admin/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_staff_without_permissions_sees_no_domain_data(client, world, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw-staff-1", is_staff=True)
    verified_log_in(client, user)
    assert client.get(admin_url(Slot, "changelist")).status_code == 403
    assert client.get(admin_url(AppointmentPair, "changelist")).status_code == 403


# --- regions ------------------------------------------------------------------------------


def test_region_list_search_and_filters(admin_client, world):
    other = make_region(name="Hessen Test", booking_mode="assignment", bundesland="HE")
    url = admin_url(type(world.region), "changelist")

    response = admin_client.get(url)
    rows = {r.name: r for r in response.context["cl"].result_list}
    assert rows["Westfalen-Lippe Test"]._district_count == 2
    assert rows["Hessen Test"]._district_count == 0
    assert "Hessen Test" in response.content.decode()

    response = admin_client.get(url, {"q": "Hessen"})
    assert list(response.context["cl"].result_list) == [other]
    response = admin_client.get(url, {"booking_mode__exact": "codes"})
    assert list(response.context["cl"].result_list) == [world.region]
    response = admin_client.get(url, {"bundesland__exact": "HE"})
    assert list(response.context["cl"].result_list) == [other]


def test_region_release_action_releases_the_window(admin_client, world):
    make_delivery(world.region, world.biontech, 10_000)  # the cap (R9) does not bind here
    soon = [make_slot(world.centre, world.biontech, at(d), released=False) for d in (1, 2, 5)]
    beyond = make_slot(world.centre, world.biontech, at(60), released=False)

    response = run_action(admin_client, type(world.region), "release_slots", [world.region])

    assert response.status_code == 200
    assert Slot.objects.filter(pk__in=[s.pk for s in soon], released=True).count() == 3
    beyond.refresh_from_db()
    assert beyond.released is False
    assert "3 Zeitfenster wurden zur Buchung freigegeben." in messages_of(response)


def test_district_search_by_ags_and_name_and_filters(admin_client, world):
    elsewhere = make_district(make_region(), name="Kassel", ags="06611", kind="kreisfreie_stadt")
    url = admin_url(type(world.district), "changelist")
    response = admin_client.get(url, {"q": "06611"})
    assert list(response.context["cl"].result_list) == [elsewhere]
    response = admin_client.get(url, {"q": "Steinfurt"})
    assert list(response.context["cl"].result_list) == [world.other_district]
    response = admin_client.get(url, {"region__id__exact": world.region.pk})
    assert set(response.context["cl"].result_list) == {world.district, world.other_district}
    response = admin_client.get(url, {"kind__exact": "kreisfreie_stadt"})
    assert set(response.context["cl"].result_list) == {world.district, elsewhere}


def test_postcode_search_filter_and_district_autocomplete(admin_client, world):
    shared = make_postcode("48565", world.district, world.other_district)
    make_postcode("34117", make_district(make_region(), name="Kassel"))
    url = admin_url(Postcode, "changelist")

    response = admin_client.get(url, {"q": "485"})
    assert list(response.context["cl"].result_list) == [shared]
    response = admin_client.get(url, {"districts__region__id__exact": world.region.pk})
    assert list(response.context["cl"].result_list) == [shared]  # once, not once per district
    assert "Kreis Steinfurt, Münster" in response.content.decode()

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "regions",
            "model_name": "postcode",
            "field_name": "districts",
            "term": "Mün",
        },
    )
    assert [r["text"] for r in response.json()["results"]] == ["Münster"]


def test_postcode_added_with_districts(admin_client, world):
    response = admin_client.post(
        admin_url(Postcode, "add"),
        {"code": "48149", "districts": [world.district.pk, world.other_district.pk]},
    )
    assert response.status_code == 302
    assert set(Postcode.objects.get(code="48149").districts.all()) == {
        world.district,
        world.other_district,
    }


# --- vaccines and deliveries ----------------------------------------------------------------


def test_vaccine_list_shows_all_fields(admin_client, world):
    response = admin_client.get(admin_url(type(world.biontech), "changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].list_display[1:]) == [
        "code",
        "name",
        "doses",
        "min_interval_days",
        "max_interval_days",
        "min_age",
        "active",
    ]


def test_vaccine_form_turns_the_interval_constraint_into_an_error(admin_client, world):
    response = admin_client.post(
        admin_url(type(world.biontech), "add"),
        {"code": "X1", "name": "Falsch", "doses": 1, "min_interval_days": 21, "min_age": 18},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not type(world.biontech).objects.filter(code="X1").exists()


def delivery_form(world, **fields) -> dict:
    return {
        "region": world.region.pk,
        "vaccine": world.biontech.pk,
        "doses": 1001,
        "delivered_on": timezone.localdate().isoformat(),
    } | fields


def test_delivery_added_through_the_admin_is_allocated_to_the_districts(admin_client, world):
    response = admin_client.post(admin_url(Delivery, "add"), delivery_form(world))

    assert response.status_code == 302
    delivery = Delivery.objects.get()
    allocations = {a.district: a.doses for a in delivery.allocations.all()}
    assert set(allocations) == {world.district, world.other_district}
    assert sum(allocations.values()) == 1001
    # 315,293 : 448,061 people
    assert allocations == {world.district: 413, world.other_district: 588}
    assert LogEntry.objects.filter(object_id=str(delivery.pk)).exists()

    page = admin_client.get(admin_url(Delivery, "change", delivery.pk)).content.decode()
    assert "Kreis Steinfurt" in page
    assert "588" in page


def test_delivery_service_error_becomes_a_form_error(admin_client, world):
    empty = make_region(name="Ohne Kreise")
    response = admin_client.post(admin_url(Delivery, "add"), delivery_form(world, region=empty.pk))
    assert response.status_code == 200
    assert "Die Region hat keine Kreise." in response.content.decode()
    assert not Delivery.objects.exists()


def test_delivery_needs_positive_doses(admin_client, world):
    response = admin_client.post(admin_url(Delivery, "add"), delivery_form(world, doses=0))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["doses"]
    assert not Delivery.objects.exists()


def test_delivery_cannot_be_changed_after_creation(admin_client, full_world):
    delivery = Delivery.objects.get()
    url = admin_url(Delivery, "change", delivery.pk)
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    response = admin_client.post(url, delivery_form(full_world, doses=5))
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.doses == 1000


def test_delivery_filters(admin_client, full_world):
    url = admin_url(Delivery, "changelist")
    response = admin_client.get(url, {"region__id__exact": full_world.region.pk})
    assert response.context["cl"].result_count == 1
    response = admin_client.get(url, {"vaccine__id__exact": full_world.janssen.pk})
    assert response.context["cl"].result_count == 0


# --- centres --------------------------------------------------------------------------------


def test_centre_search_and_filters(admin_client, world):
    kassel = make_centre(
        make_district(make_region(), name="Kassel"), name="IZ Kassel", city="Kassel", active=False
    )
    url = admin_url(Centre, "changelist")
    response = admin_client.get(url, {"q": "Kassel"})
    assert list(response.context["cl"].result_list) == [kassel]
    response = admin_client.get(url, {"district__region__id__exact": world.region.pk})
    assert set(response.context["cl"].result_list) == {world.centre, world.other_centre}
    response = admin_client.get(url, {"active__exact": "0"})
    assert list(response.context["cl"].result_list) == [kassel]


def test_centre_generate_action_creates_eight_weeks_of_slots(admin_client, world):
    response = run_action(admin_client, Centre, "generate_slots", [world.centre])

    slots = Slot.objects.filter(centre=world.centre)
    assert slots.count() > 0
    assert f"{slots.count()} Zeitfenster wurden angelegt." in messages_of(response)
    last = timezone.localdate(slots.order_by("-start").first().start)
    assert last == timezone.localdate() + dt.timedelta(days=55)
    assert not Slot.objects.filter(centre=world.other_centre).exists()

    again = run_action(admin_client, Centre, "generate_slots", [world.centre])
    assert "0 Zeitfenster wurden angelegt." in messages_of(again)


def centre_form(centre, hours: list[tuple[int, str, str]]) -> dict:
    data = {
        "district": centre.district_id,
        "name": centre.name,
        "street": centre.street,
        "postcode": centre.postcode,
        "city": centre.city,
        "open_on_public_holidays": "on",
        "active": "on",
        "opening_hours-TOTAL_FORMS": len(hours),
        "opening_hours-INITIAL_FORMS": 0,
        "capacities-TOTAL_FORMS": 0,
        "capacities-INITIAL_FORMS": 0,
    }
    for i, (weekday, opens, closes) in enumerate(hours):
        data |= {
            f"opening_hours-{i}-weekday": weekday,
            f"opening_hours-{i}-opens": opens,
            f"opening_hours-{i}-closes": closes,
        }
    return data


def test_centre_opening_hours_inline_refuses_overlaps(admin_client, world):
    centre = make_centre(world.district, name="IZ Neu")
    url = admin_url(Centre, "change", centre.pk)

    response = admin_client.post(
        url, centre_form(centre, [(0, "08:00", "12:00"), (0, "11:00", "14:00")])
    )
    assert response.status_code == 200
    assert "Die Öffnungszeiten überschneiden sich." in response.content.decode()
    assert not centre.opening_hours.exists()

    response = admin_client.post(
        url, centre_form(centre, [(0, "08:00", "12:00"), (0, "13:00", "17:00")])
    )
    assert response.status_code == 302
    assert centre.opening_hours.count() == 2


# --- slots ----------------------------------------------------------------------------------


def test_slot_list_filters_and_search(admin_client, world):
    released = make_slot(world.centre, world.biontech, at(2), released=True)
    hidden = make_slot(world.other_centre, world.biontech, at(2), released=False)
    single = make_slot(world.centre, world.janssen, at(3), released=False)
    url = admin_url(Slot, "changelist")

    response = admin_client.get(url, {"released__exact": "1"})
    assert list(response.context["cl"].result_list) == [released]
    response = admin_client.get(url, {"vaccine__id__exact": world.janssen.pk})
    assert list(response.context["cl"].result_list) == [single]
    response = admin_client.get(url, {"q": "Steinfurt"})
    assert list(response.context["cl"].result_list) == [hidden]
    response = admin_client.get(url, {"centre__district__region__id__exact": world.region.pk})
    assert response.context["cl"].result_count == 3
    response = admin_client.get(url, {"upcoming": "7"})
    assert response.context["cl"].result_count == 3
    make_slot(world.centre, world.janssen, at(1), released=False)
    response = admin_client.get(url, {"upcoming": "tomorrow"})
    assert response.context["cl"].result_count == 1
    response = admin_client.get(url, {"upcoming": "nonsense"})
    assert response.context["cl"].result_count == 4


def test_slot_list_queries_do_not_grow_with_rows(admin_client, world):
    url = admin_url(Slot, "changelist")
    make_slot(world.centre, world.biontech, at(1))
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for hour in range(8, 20):
        make_slot(world.other_centre, world.janssen, at(2, hour))
        make_slot(world.centre, world.biontech, at(4, hour))
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)


def test_pair_list_queries_do_not_grow_with_rows(admin_client, world):
    url = admin_url(AppointmentPair, "changelist")
    slot = make_slot(world.centre, world.janssen, at(3), capacity=20)
    booking_services.pair_book(holder="p0", district_id=world.district.pk, first_slot_id=slot.pk)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    other = make_slot(world.other_centre, world.biontech, at(3), capacity=20)
    make_slot(world.other_centre, world.biontech, at(25), capacity=20)
    for n in range(1, 8):
        booking_services.pair_book(
            holder=f"p{n}", district_id=world.district.pk, first_slot_id=slot.pk
        )
        booking_services.pair_book(
            holder=f"q{n}", district_id=world.other_district.pk, first_slot_id=other.pk
        )
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)


def test_slot_added_through_slot_create(admin_client, world):
    start = at(5, 9, 30)
    response = admin_client.post(
        admin_url(Slot, "add"),
        {
            "centre": world.centre.pk,
            "vaccine": world.biontech.pk,
            "start_0": start.date().isoformat(),
            "start_1": "09:30:00",
            "capacity": 4,
            "released": "on",
            "booked": 3,  # ignored: only the booking services set it
        },
    )
    assert response.status_code == 302
    slot = Slot.objects.get()
    assert (slot.start, slot.capacity, slot.booked, slot.released) == (start, 4, 0, True)


def test_slot_in_the_past_is_refused_by_the_service(admin_client, world):
    yesterday = at(-1)
    response = admin_client.post(
        admin_url(Slot, "add"),
        {
            "centre": world.centre.pk,
            "vaccine": world.biontech.pk,
            "start_0": yesterday.date().isoformat(),
            "start_1": "10:00:00",
            "capacity": 4,
        },
    )
    assert response.status_code == 200
    assert "Dieser Termin liegt in der Vergangenheit." in response.content.decode()
    assert not Slot.objects.exists()


def test_slot_add_lost_to_a_concurrent_insert_is_a_form_error(admin_client, world, monkeypatch):
    from django.db import IntegrityError

    def lost_race(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(booking_services, "slot_create", lost_race)
    start = at(5)
    response = admin_client.post(
        admin_url(Slot, "add"),
        {
            "centre": world.centre.pk,
            "vaccine": world.biontech.pk,
            "start_0": start.date().isoformat(),
            "start_1": "10:00:00",
            "capacity": 4,
        },
    )
    assert response.status_code == 200
    assert "Jemand hat gleichzeitig dasselbe geändert." in response.content.decode()
    assert not Slot.objects.exists()


def test_slot_capacity_cannot_drop_below_booked(admin_client, booked):
    pair, first, _second = booked
    first.refresh_from_db()
    assert first.booked == 1
    url = admin_url(Slot, "change", first.pk)

    response = admin_client.post(url, {"capacity": 0, "released": "on"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["capacity"]

    booking_services.pair_book(
        holder="h2", district_id=pair.centre.district_id, first_slot_id=first.pk
    )
    response = admin_client.post(url, {"capacity": 1, "released": "on"})
    assert response.status_code == 200
    assert "Es sind schon 2 Plätze gebucht" in response.content.decode()
    first.refresh_from_db()
    assert (first.capacity, first.booked) == (2, 2)


def test_slot_change_writes_capacity_and_release_only(admin_client, booked):
    _pair, first, _second = booked
    original_start = first.start
    response = admin_client.post(
        admin_url(Slot, "change", first.pk),
        {"capacity": 5, "booked": 0, "start_0": "2030-01-01", "start_1": "10:00:00"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.capacity, first.booked, first.released, first.start) == (
        5,
        1,
        False,
        original_start,
    )


def test_slot_change_page_shows_booked_read_only(admin_client, booked):
    _pair, first, _second = booked
    response = admin_client.get(admin_url(Slot, "change", first.pk))
    form = response.context["adminform"].form
    assert set(form.fields) == {"capacity", "released"}


def test_slot_centre_is_chosen_by_autocomplete(admin_client, world):
    response = admin_client.get(admin_url(Slot, "add"))
    assert "admin-autocomplete" in response.content.decode()


# --- appointment pairs ----------------------------------------------------------------------


def test_pair_list_and_detail_never_show_the_holder(admin_client, booked):
    pair, _first, _second = booked
    pair_admin = admin.site._registry[AppointmentPair]
    assert "holder" not in pair_admin.list_display
    assert "holder" not in pair_admin.search_fields
    for url in [
        admin_url(AppointmentPair, "changelist"),
        admin_url(AppointmentPair, "change", pair.pk),
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200
        assert ">h1<" not in response.content.decode()
        assert "Inhaber" not in response.content.decode()


def test_pair_detail_shows_its_appointments_read_only(admin_client, booked):
    pair, first, second = booked
    response = admin_client.get(admin_url(AppointmentPair, "change", pair.pk))
    page = response.content.decode()
    assert admin_url(Slot, "change", first.pk) in page
    assert admin_url(Slot, "change", second.pk) in page
    local = timezone.localtime(first.start)
    assert f"{local:%d.%m.%Y} {local:%H:%M}" in page  # the start, in local time
    assert response.context["has_change_permission"] is False


def test_pair_filters(admin_client, booked):
    pair, _first, _second = booked
    url = admin_url(AppointmentPair, "changelist")
    assert list(admin_client.get(url, {"status__exact": "booked"}).context["cl"].result_list) == [
        pair
    ]
    assert admin_client.get(url, {"status__exact": "cancelled"}).context["cl"].result_count == 0
    assert admin_client.get(url, {"channel__exact": "phone"}).context["cl"].result_count == 0


@pytest.mark.parametrize("user_client", ["admin_client", "operator_client"])
def test_pair_cancel_action_frees_the_seats(request, booked, user_client):
    client = request.getfixturevalue(user_client)
    pair, first, second = booked

    response = run_action(client, AppointmentPair, "cancel_pairs", [pair])

    assert response.status_code == 200
    pair.refresh_from_db()
    assert pair.status == PairStatus.CANCELLED
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.booked, second.booked) == (0, 0)
    assert any("1 Terminpaar wurde storniert" in m for m in messages_of(response))
    assert LogEntry.objects.filter(object_id=str(pair.pk)).exists()

    again = run_action(client, AppointmentPair, "cancel_pairs", [pair])
    assert f"Terminpaar #{pair.pk}: Diese Buchung ist bereits storniert." in messages_of(again)
    first.refresh_from_db()
    assert first.booked == 0


def test_pair_cancel_action_reports_each_pair(admin_client, world, booked):
    pair, first, _second = booked
    booking_services.pair_book(holder="h2", district_id=world.district.pk, first_slot_id=first.pk)
    run_action(admin_client, AppointmentPair, "cancel_pairs", [pair])
    pairs = AppointmentPair.objects.all()

    response = run_action(admin_client, AppointmentPair, "cancel_pairs", pairs)

    assert f"Terminpaar #{pair.pk}: Diese Buchung ist bereits storniert." in messages_of(response)
    assert "1 Terminpaar wurde storniert; die Plätze sind wieder frei." in messages_of(response)
    assert not AppointmentPair.objects.filter(status=PairStatus.BOOKED).exists()
    first.refresh_from_db()
    assert first.booked == 0


def test_pairs_cannot_be_added_or_changed(admin_client, booked):
    pair, _first, _second = booked
    assert admin_client.get(admin_url(AppointmentPair, "add")).status_code == 403
    response = admin_client.post(
        admin_url(AppointmentPair, "change", pair.pk), {"status": "cancelled"}
    )
    assert response.status_code == 403
    pair.refresh_from_db()
    assert pair.status == PairStatus.BOOKED


# --- nothing that holds seats can be deleted -----------------------------------------------


@pytest.mark.parametrize("user_client", ["admin_client", "operator_client"])
def test_no_delete_for_slots_pairs_and_appointments(request, booked, user_client):
    client = request.getfixturevalue(user_client)
    pair, first, _second = booked
    for model, obj in [(Slot, first), (AppointmentPair, pair)]:
        assert client.get(admin_url(model, "delete", obj.pk)).status_code == 403
        assert client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert "delete_selected" not in action_names(client.get(admin_url(model, "changelist")))
        run_action(client, model, "delete_selected", [obj], post="yes")
        assert model.objects.filter(pk=obj.pk).exists()
    pair_page = client.get(admin_url(AppointmentPair, "change", pair.pk))
    inline = pair_page.context["inline_admin_formsets"][0]
    assert not inline.has_delete_permission
    assert not inline.has_add_permission
    first.refresh_from_db()
    assert first.booked == 1


def test_operator_has_the_actions(operator_client, world):
    for model, action in [
        (type(world.region), "release_slots"),
        (Centre, "generate_slots"),
        (AppointmentPair, "cancel_pairs"),
    ]:
        response = operator_client.get(admin_url(model, "changelist"))
        choices = [
            name for name, _label in response.context["action_form"].fields["action"].choices
        ]
        assert action in choices, model
