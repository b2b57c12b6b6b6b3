"""Issue 11 items 1, 3-5: a region's FAQ by category with a search, its pages, the hotline
from the region's data, English with German where untranslated, plain language, and pages
that shared caches may keep (no CSRF token, an ETag that changes with the texts)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from impftermin.information.models import FaqEntry, Page, PageKind

pytestmark = pytest.mark.django_db


def _faq(client, region, language="de", **query):
    with translation.override(language):
        url = reverse("information:faq", args=[region.slug])
    return client.get(url, query)


def test_item2_faq_lists_the_seeded_entries_by_category(client, region):
    page = _faq(client, region).content.decode()
    assert page.count('class="faq-entry"') == FaqEntry.objects.filter(region=region).count()
    assert "PIN und Vermittlungscodes" in page
    assert 'id="pin-validity"' in page
    assert "Stand: " in page


@pytest.mark.parametrize(
    "language, query, expected",
    [
        ("de", "PIN", "Wie lange ist die sechsstellige PIN gültig?"),
        ("de", "pin gültig", "Wie lange ist die sechsstellige PIN gültig?"),
        ("en", "PIN", "How long is the six-digit PIN valid?"),
        ("en", "Begleitperson", "companion"),  # a German word finds the entry in English too
    ],
)
def test_item3_search_finds_entries_in_both_languages(client, region, language, query, expected):
    response = _faq(client, region, language, q=query)
    page = response.content.decode()
    assert response.status_code == 200
    assert expected.lower() in page.lower()
    hits = page.count('class="faq-entry"')
    assert 0 < hits < FaqEntry.objects.filter(region=region).count()


def test_item3_a_search_without_hits_says_so(client, region):
    page = _faq(client, region, q="Quantencomputer").content.decode()
    assert "keinen Eintrag gefunden" in page and 'class="faq-entry"' not in page


@pytest.mark.parametrize("query", ["x" * 5000, "<script>alert(1)</script>", "%00", "a " * 50])
def test_hostile_searches_are_harmless(client, region, query):
    response = _faq(client, region, q=query)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_item3_hotline_and_hours_come_from_the_region(client, region):
    page = _faq(client, region).content.decode()
    assert 'href="tel:080011611702"' in page and "0800 116 117 02" in page
    assert "+49 231 9432 0000" in page and "Mo bis So 8 bis 20 Uhr" in page
    region.hotline = "0800 999 999"
    region.save()
    assert "0800 999 999" in _faq(client, region).content.decode()


def test_english_falls_back_to_german_marked_as_german(client, region):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    entry.answer_en = ""
    entry.save()
    page = _faq(client, region, "en").content.decode()
    assert '<div class="faq-answer" lang="de">' in page
    assert "How long is the six-digit PIN valid?" in page


def test_item1_plain_language_variant_is_offered_in_german(client, region):
    FaqEntry.objects.filter(region=region, key="pin-validity").update(
        answer_plain_de="Die PIN gilt **10 Minuten**."
    )
    assert "In Einfacher Sprache" in _faq(client, region).content.decode()
    assert "In Einfacher Sprache" not in _faq(client, region, "en").content.decode()


def test_unpublished_entries_are_hidden(client, region):
    FaqEntry.objects.filter(region=region, key="pin-validity").update(published=False)
    assert 'id="pin-validity"' not in _faq(client, region).content.decode()


def test_item1_pages_quick_guides_and_plain_language(client, region):
    Page.objects.create(
        region=region,
        kind=PageKind.ACCESSIBILITY,
        key="barrierefreiheit",
        title_de="Erklärung zur Barrierefreiheit",
        title_en="Accessibility statement",
        body_de="Diese Seiten sollen **BITV 2.0** erfüllen.",
        body_plain_de="Wir wollen, dass alle die Seiten lesen können.",
        as_of=dt.date(2021, 7, 2),
    )
    url = reverse("information:page", args=[region.slug, "barrierefreiheit"])
    page = client.get(url).content.decode()
    assert "<strong>BITV 2.0</strong>" in page and "Stand: 02.07.2021" in page
    assert "In Einfacher Sprache lesen" in page
    assert "alle die Seiten lesen" in client.get(url, {"einfach": "1"}).content.decode()
    faq = _faq(client, region).content.decode()
    assert url in faq  # every page is linked from the FAQ
    guide = Page.objects.filter(region=region, kind=PageKind.GUIDE).first()
    assert guide is not None
    guide_url = reverse("information:page", args=[region.slug, guide.key])
    assert client.get(guide_url).status_code == 200


@pytest.mark.parametrize(
    "url",
    ["/info/nowhere/", "/info/wl-test/nothing-here/", "/info/wl-test/" + "x" * 300 + "/"],
)
def test_unknown_regions_and_pages_are_404(client, region, url):
    assert client.get(url).status_code == 404


def test_item5_pages_are_cacheable_and_revalidate(client, region):
    response = _faq(client, region)
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    assert "csrfmiddlewaretoken" not in response.content.decode()  # the same for everyone
    assert "csrftoken" not in response.cookies and "sessionid" not in response.cookies
    etag = response["ETag"]
    url = reverse("information:faq", args=[region.slug])
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    entry.answer_de += " Neu."
    entry.save()
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200
    etag = _faq(client, region)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    FaqEntry.objects.filter(region=region, key="companion").delete()  # same times, one fewer
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200
    english = _faq(client, region, "en")
    assert english["ETag"] != _faq(client, region)["ETag"]


def test_item5_a_visitor_with_a_session_gets_a_private_page(region, admin_client):
    response = _faq(admin_client, region)  # staff: the idle check writes to the session
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]


def test_item3_language_switch_is_a_plain_link(client, region):
    page = _faq(client, region).content.decode()
    assert f'href="/en/info/{region.slug}/"' in page and 'hreflang="en"' in page


def test_item4_start_page_warns_of_fraud(client, region):
    page = client.get(reverse("home")).content.decode()
    assert "Vorsicht vor Betrug" in page and "unangemeldet" in page
    assert reverse("information:faq", args=[region.slug]) in page
