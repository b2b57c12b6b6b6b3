"""Issue 11 items 1 and 3: operators edit the information pages in the back office (the
change shows at once, dated today); agents cannot; the entries are linked where people
need them (next to the PIN field, on the times page, in the registration)."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from impftermin.information.models import FaqEntry
from impftermin.staff import roles
from impftermin.staff.services import roles_setup
from tests.factories import make_postcode

pytestmark = pytest.mark.django_db


def _member(role):
    roles_setup()
    user = User.objects.create_user(f"user-{role.key}", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role.group))
    return user


def _form(entry: FaqEntry, **changes) -> dict:
    data = {
        "region": entry.region_id,
        "key": entry.key,
        "category_de": entry.category_de,
        "category_en": entry.category_en,
        "order": entry.order,
        "question_de": entry.question_de,
        "question_en": entry.question_en,
        "answer_de": entry.answer_de,
        "answer_en": entry.answer_en,
        "answer_plain_de": entry.answer_plain_de,
        "as_of": entry.as_of.strftime("%d.%m.%Y"),
        # what the browser sends back: the date as the form showed it (changed or not)
        "initial-as_of": entry.as_of.isoformat(),
        "published": "on",
    }
    return {**data, **changes}


def test_item1_operator_edits_an_entry_and_it_shows_dated_today(region, staff_client):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    FaqEntry.objects.filter(pk=entry.pk).update(as_of=dt.date(2021, 7, 2))
    entry.refresh_from_db()
    client = staff_client(_member(roles.OPERATOR))
    url = reverse("admin:information_faqentry_change", args=[entry.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, _form(entry, answer_de="Die PIN gilt **zehn** Minuten."))
    assert response.status_code == 302, response.content.decode()[:2000]
    entry.refresh_from_db()
    assert entry.as_of == timezone.localdate()
    page = client.get(reverse("information:faq", args=[region.slug])).content.decode()
    assert "Die PIN gilt <strong>zehn</strong> Minuten." in page
    assert f"Stand: {timezone.localdate():%d.%m.%Y}" in page


def test_item1_a_date_set_by_hand_is_kept(region, staff_client):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    client = staff_client(_member(roles.OPERATOR))
    url = reverse("admin:information_faqentry_change", args=[entry.pk])
    response = client.post(url, _form(entry, answer_de="Neu.", as_of="19.07.2021"))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.as_of == dt.date(2021, 7, 19)


def test_item1_a_script_in_an_answer_is_stored_but_shown_as_text(region, staff_client):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    client = staff_client(_member(roles.OPERATOR))
    url = reverse("admin:information_faqentry_change", args=[entry.pk])
    client.post(url, _form(entry, answer_de="Vorher <script>alert(1)</script> nachher"))
    page = client.get(reverse("information:faq", args=[region.slug])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_item1_bad_input_is_refused_with_a_message(region, staff_client):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    client = staff_client(_member(roles.OPERATOR))
    url = reverse("admin:information_faqentry_change", args=[entry.pk])
    other = FaqEntry.objects.filter(region=region).exclude(pk=entry.pk).first()
    for changes in ({"question_de": ""}, {"key": other.key}, {"answer_de": "x" * 20001}):
        response = client.post(url, _form(entry, **changes))
        assert response.status_code == 200
        assert "errornote" in response.content.decode()
    entry.refresh_from_db()
    assert entry.question_de and entry.key == "pin-validity"


def test_only_operators_edit_information(region, staff_client):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    url = reverse("admin:information_faqentry_change", args=[entry.pk])
    for role in (roles.AGENT, roles.CENTRE_STAFF):
        client = staff_client(_member(role))
        assert client.post(url, _form(entry, answer_de="x")).status_code == 403
    entry.refresh_from_db()
    assert entry.answer_de != "x"


def test_item3_the_pin_page_links_its_questions(region, client):
    make_postcode("48143", region.districts.first())
    assert client.post("/termin/", {"postcode": "48143"}).status_code == 302
    assert client.post("/termin/alter/", {"birth_date": "01.01.1960"}).status_code == 302
    html = client.get(reverse("codes:pin_request")).content.decode()
    assert f'href="/info/{region.slug}/#pin-validity"' in html
    assert "Wie lange ist die sechsstellige PIN gültig?" in html
    FaqEntry.objects.filter(region=region, key="pin-validity").update(published=False)
    html = client.get(reverse("codes:pin_request")).content.decode()
    assert "#pin-validity" not in html and "#pin-purpose" in html


def test_item3_a_region_without_entries_links_nothing(world, client):
    make_postcode("48143", world.district)
    client.post("/termin/", {"postcode": "48143"})
    client.post("/termin/alter/", {"birth_date": "01.01.1960"})
    assert "Fragen dazu" not in client.get(reverse("codes:pin_request")).content.decode()
