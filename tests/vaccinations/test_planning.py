"""Issue 7 item 1: capacity planning — closures for single days, a preview of the slots
that opening hours and capacities give, then generate and release (within the allocation)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from impftermin.booking.models import Slot
from impftermin.booking.services import centre_day_close, slots_generate, slots_preview
from impftermin.centres.models import CentreClosure
from impftermin.codes.services import codes_book_by_phone
from impftermin.core.errors import ServiceError
from impftermin.staff import roles
from impftermin.staff.services import roles_setup
from tests.factories import at, make_delivery, make_slot

pytestmark = pytest.mark.django_db


def _member(username, role):
    roles_setup()
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role.group))
    return user


def _day(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def test_item1_the_preview_shows_the_plan_and_a_closed_day(world):
    centre_day_close(centre_id=world.centre.pk, day=_day(2), reason="Wartung")
    days = slots_preview(centre_id=world.centre.pk, date_from=_day(1), date_to=_day(3))
    assert [d.day for d in days] == [_day(1), _day(2), _day(3)]
    # 8-20 h, 5-minute units, 3 seats: 144 units a day
    assert days[0].planned == {world.biontech.name: 144 * 3}
    assert days[1].closed and days[1].planned == {}
    assert days[0].existing == 0


def test_item1_a_closed_day_gets_no_slots_and_loses_its_free_ones(world):
    slots_generate(centre_id=world.centre.pk, date_from=_day(1), date_to=_day(2))
    on_day = Slot.objects.filter(centre=world.centre, start__date=_day(2))
    assert on_day.exists()
    centre_day_close(centre_id=world.centre.pk, day=_day(2))
    assert not on_day.exists()
    slots_generate(centre_id=world.centre.pk, date_from=_day(1), date_to=_day(3))
    assert not on_day.exists()
    assert Slot.objects.filter(centre=world.centre, start__date=_day(3)).exists()


@pytest.mark.parametrize("days, code", [(0, "day_not_future"), (-3, "day_not_future")])
def test_item1_only_future_days_are_closed(world, days, code):
    with pytest.raises(ServiceError) as refused:
        centre_day_close(centre_id=world.centre.pk, day=_day(days))
    assert refused.value.code == code


def test_item1_a_day_with_appointments_is_not_closed(world):
    first = make_slot(world.centre, world.biontech, at(4, 9))
    second = make_slot(world.centre, world.biontech, at(25, 9), released=False)
    codes_book_by_phone(
        region_id=world.region.pk,
        vaccine_id=world.biontech.pk,
        party_size=1,
        district_id=world.district.pk,
        first_slot_id=first.pk,
        second_slot_id=second.pk,
    )
    with pytest.raises(ServiceError) as refused:
        centre_day_close(centre_id=world.centre.pk, day=_day(4))
    assert refused.value.code == "day_has_appointments"
    assert Slot.objects.filter(pk=first.pk).exists() and not CentreClosure.objects.exists()


def test_item1_operator_previews_generates_and_releases(world, staff_client):
    world.region.release_days_ahead = 2
    world.region.save()
    make_delivery(world.region, world.biontech, 200, districts=[world.district])  # 100 firsts
    client = staff_client(_member("betrieb", roles.OPERATOR))
    url = reverse("vaccinations:planning", args=[world.centre.pk])
    query = {"date_from": _day(1).strftime("%d.%m.%Y"), "date_to": _day(3).strftime("%d.%m.%Y")}
    page = client.get(url, query).content.decode()
    assert "Vorschau" in page and f"{world.biontech.name}: 432" in page
    response = client.post(f"{url}?date_from={query['date_from']}&date_to={query['date_to']}",
                           {"action": "release"})  # fmt: skip
    assert response.status_code == 302
    made = Slot.objects.filter(centre=world.centre)
    assert made.count() == 3 * 144
    released = made.filter(released=True)
    # inside the window (2 days) and within the allocation: 100 first-dose seats
    assert 0 < sum(released.values_list("capacity", flat=True)) <= 100
    client.post(url, {"action": "close", "day": _day(5).strftime("%d.%m.%Y"), "reason": "Umbau"})
    assert CentreClosure.objects.filter(day=_day(5)).exists()
    client.post(url, {"action": "reopen", "day": _day(5).isoformat()})
    assert not CentreClosure.objects.exists()


@pytest.mark.parametrize(
    "query, post",
    [
        ({"date_from": "31.02.2021"}, None),
        ({"date_from": "01.01.2021", "date_to": "05.01.2021"}, None),  # in the past
        ({"date_to": "31.12.9999"}, None),
        ({}, {"action": "close", "day": "gestern"}),
        ({}, {"action": "reopen", "day": "x"}),
        ({}, {"action": "generate"}),
        ({}, {"action": "nonsense"}),
    ],
)
def test_item1_bad_input_never_fails(world, staff_client, query, post):
    client = staff_client(_member("betrieb", roles.OPERATOR))
    url = reverse("vaccinations:planning", args=[world.centre.pk])
    response = client.post(url, post) if post else client.get(url, query)
    assert response.status_code in (200, 302, 400)
    assert client.get(reverse("vaccinations:planning", args=[99999])).status_code == 404


def test_item1_only_operators_plan(world, staff_client):
    url = reverse("vaccinations:planning", args=[world.centre.pk])
    for role in (roles.AGENT, roles.CENTRE_STAFF):
        assert staff_client(_member(f"u-{role.key}", role)).get(url).status_code == 403
