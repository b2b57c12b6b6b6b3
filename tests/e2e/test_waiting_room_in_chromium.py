"""The waiting room in headless Chromium (issue 9): the waiting page
passes axe-core and reflow in German and English, says who is ahead, refreshes itself,
and lets the visitor in to the booking flow when the ticket's turn comes."""

from __future__ import annotations

import pytest

from impftermin.waitingroom import middleware, services
from impftermin.waitingroom.models import RoomMode, WaitingRoom
from tests import factories
from tests.e2e.walk import Walk

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres]

T0 = 1_900_000_000.0
SWITCH_OFF = {"de": "Automatisches Aktualisieren ausschalten", "en": "Turn automatic refresh off"}
SWITCH_ON = {"de": "Automatisches Aktualisieren einschalten", "en": "Turn automatic refresh on"}
TEXTS = {
    "de": ("Virtueller Warteraum", "Vor Ihnen wartet noch 1 Person.", "Postleitzahl"),
    "en": ("Virtual waiting room", "1 person is waiting ahead of you.", "Postcode"),
}


@pytest.mark.parametrize("language", ["de", "en"])
def test_R_waiting_page_is_accessible_refreshes_itself_and_admits_in_turn(
    browser, live_server, world, monkeypatch, tmp_path, language
):
    WaitingRoom.objects.create(region=world.region, mode=RoomMode.ON, admissions_per_second=1)
    factories.make_slot(world.centre, world.biontech, factories.at(5))  # something to wait for
    clock = {"now": T0}
    monkeypatch.setattr(services, "clock", lambda: clock["now"])
    room = services.room_for(world.region.pk)
    services.ticket_take(room, T0)  # someone came first
    context = browser.new_context(locale="de-DE" if language == "de" else "en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    walk = Walk(page, live_server.url, language, tmp_path, None, shots=False)
    title, ahead, postcode = TEXTS[language]
    try:
        walk.goto(f"/termin/?region={world.region.slug}")
        assert title in walk.heading()
        assert ahead in page.content()
        assert page.locator('meta[http-equiv="refresh"]').count() == 1
        assert page.locator("script").count() == 0  # it needs no JavaScript
        # axe's one finding here is the refresh itself (WCAG 2.2.1): the page offers to turn
        # it off before anything else, and without it the page has no finding at all.
        assert [p.split(": ", 1)[1].split()[0] for p in walk.problems] == ["meta-refresh"]
        walk.problems.clear()
        walk.follow(page.get_by_role("link", name=SWITCH_OFF[language]))
        assert page.locator('meta[http-equiv="refresh"]').count() == 0 and ahead in page.content()
        page.get_by_role("link", name=SWITCH_ON[language]).click()
        # The page reloads itself (a meta refresh): every second from now on ...
        monkeypatch.setattr(middleware, "REFRESH_SECONDS", 1)
        page.reload()
        assert ahead in page.content()
        clock["now"] = T0 + 2.5  # ... and when the ticket's turn comes, it lets us in
        page.get_by_label(postcode).first.wait_for()
        walk.check_page()
        assert walk.problems == []
    finally:
        context.close()
