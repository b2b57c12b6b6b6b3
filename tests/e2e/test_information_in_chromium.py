"""Issue 11 in headless Chromium: a visitor searches a region's FAQ for "PIN" in German and
English and finds the entry; an operator edits that entry in the back office and the page
shows the change with its new "as of" date; a script in an answer is shown, never run.
Every public page is scanned with axe-core and checked for reflow (tests/e2e/walk.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from impftermin.information.models import FaqEntry
from impftermin.staff.roles import OPERATOR
from impftermin.staff.services import roles_setup
from tests.e2e.staff import staff_log_in
from tests.e2e.walk import Walk, screenshots_wanted
from tests.information.helpers import seeded
from tests.staff.helpers import staff_device

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres]

PASSWORD = "ein langes Passwort für den Betrieb 1"
LABELS = {
    "de": {
        "search": "In den Fragen suchen",
        "button": "Suchen",
        "hits": "Einträge zu „PIN“",
        "question": "Wie lange ist die sechsstellige PIN gültig?",
        "answer": "nur 10 Minuten gültig",
    },
    "en": {
        "search": "Search the questions",
        "button": "Search",
        "hits": "entries for “PIN”",
        "question": "How long is the six-digit PIN valid?",
        "answer": "valid for only 10 minutes",
    },
}
HOSTILE = (
    "Die PIN gilt **zehn** Minuten. <script>window.pwned = true</script> "
    '<img src="x" onerror="window.pwned = true">'
)


@pytest.fixture
def region(world):
    return seeded(world.region)


@pytest.fixture
def operator(db):
    roles_setup()
    user = get_user_model().objects.create_user("betrieb", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATOR.group))
    staff_device(user)
    return user


def _walk(browser, live_server, language: str, tmp_path):
    context = browser.new_context(locale="de-DE" if language == "de" else "en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    shots = screenshots_wanted(language)
    return Walk(page, live_server.url, language, tmp_path, None, shots=shots), context


@pytest.mark.parametrize("language", ["de", "en"])
def test_item3_visitor_searches_the_faq_for_pin_and_finds_the_entry(
    browser, live_server, region, language, tmp_path
):
    walk, context = _walk(browser, live_server, language, tmp_path)
    labels, page = LABELS[language], walk.page
    try:
        walk.goto("/")
        walk.follow(page.get_by_role("link", name=region.name, exact=False).last)
        assert f"/info/{region.slug}/" in page.url
        search = page.get_by_label(labels["search"])
        search.press_sequentially("PIN")
        with page.expect_navigation():
            search.press("Enter")
        walk.check_page("15-faq-search")
        expect(page.get_by_role("status").filter(has_text=labels["hits"])).to_be_visible()
        entry = page.get_by_role("heading", name=labels["question"])
        expect(entry).to_be_visible()
        expect(page.locator("#pin-validity")).to_contain_text(labels["answer"])
        expect(page.locator(".faq-entry")).not_to_have_count(0)
        assert page.locator(".faq-entry").count() < FaqEntry.objects.filter(region=region).count()
        assert walk.problems == []
    finally:
        context.close()


def test_item1_operator_edits_an_entry_the_change_shows_dated_today_and_no_script_runs(
    browser, live_server, region, operator, tmp_path
):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    FaqEntry.objects.filter(pk=entry.pk).update(as_of="2021-07-02")
    walk, context = _walk(browser, live_server, "de", tmp_path)
    page = walk.page
    try:
        walk.goto(f"/info/{region.slug}/")
        expect(page.locator("#pin-validity")).to_contain_text("Stand: 02.07.2021")

        change = f"/admin/information/faqentry/{entry.pk}/change/"
        staff_log_in(walk, operator, PASSWORD, change)
        answer = page.get_by_label("Antwort (Deutsch)")
        answer.fill(HOSTILE)
        with page.expect_navigation():
            page.get_by_role("button", name="Sichern", exact=True).first.click()
        assert "/admin/information/faqentry/" in page.url
        entry.refresh_from_db()
        assert entry.answer_de == HOSTILE and entry.as_of == timezone.localdate()

        page.evaluate("window.pwned = undefined")
        walk.goto(f"/info/{region.slug}/")
        shown = page.locator("#pin-validity")
        expect(shown).to_contain_text(f"Stand: {timezone.localdate():%d.%m.%Y}")
        expect(shown.locator("strong")).to_have_text("zehn")
        expect(shown).to_contain_text("<script>window.pwned = true</script>")  # as text
        assert shown.locator("script, img").count() == 0
        assert page.evaluate("window.pwned") is None
        # Django's own admin pages are not ours to restyle (its breadcrumbs are links in a
        # text block, which axe flags); every page of ours must pass.
        assert [p for p in walk.problems if "/admin/" not in p] == []
    finally:
        context.close()
