"""A person's walk through the site in headless Chromium, with the checks made on every
page it reaches: axe-core finds no serious or critical violation (WCAG 2.1 A/AA and best
practice), the page does not scroll sideways at 320 CSS pixels (what 400 % zoom leaves of
a 1280-pixel window, WCAG 1.4.10), and `<html lang>` names the language of the walk.
With SCREENSHOTS=1 a walk can save the pages it names to docs/screenshots/."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.mail import run_worker

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
NARROW = {"width": 320, "height": 640}


def screenshots_wanted(language: str) -> bool:
    """Screenshots are taken of the German walk, when SCREENSHOTS=1."""
    return language == "de" and os.environ.get("SCREENSHOTS") == "1"


class Walk:
    """One person's browser tab, with the checks made on every page it reaches."""

    def __init__(self, page, base_url: str, language: str, outbox: Path, smtp, shots: bool):
        self.page = page
        self.base = base_url
        self.prefix = "/en" if language == "en" else ""
        self.language = language
        self.outbox = outbox
        self.smtp = smtp
        self.shots = shots
        self.problems: list[str] = []

    def goto(self, path: str, shot: str | None = None) -> None:
        self.page.goto(f"{self.base}{self.prefix}{path}")
        self.check_page(shot)

    def check_page(self, name: str | None = None) -> None:
        from axe_playwright_python.sync_playwright import Axe

        page = self.page
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == self.language
        results = Axe().run(page, options=AXE_OPTIONS)
        for violation in results.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                targets = [n["target"] for n in violation["nodes"]][:3]
                self.problems.append(f"{page.url}: {violation['id']} {targets}")
        # Reflow (WCAG 1.4.10): at 320 CSS pixels nothing needs sideways scrolling.
        size = page.viewport_size
        page.set_viewport_size(NARROW)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            self.problems.append(f"{page.url}: scrolls sideways by {overflow}px at 320px")
        page.set_viewport_size(size)
        if name:
            self.shot(name)

    def shot(self, name: str) -> None:
        """Save the whole page as docs/screenshots/<name>.png, when screenshots are taken."""
        if self.shots:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    def click(self, name: str, shot: str | None = None) -> None:
        self.follow(self.page.get_by_role("button", name=name), shot)

    def follow(self, locator, shot: str | None = None) -> None:
        """Click what leads to another page, and check that page."""
        with self.page.expect_navigation():
            locator.click()
        self.check_page(shot)

    def heading(self) -> str:
        return self.page.get_by_role("heading", level=1).inner_text()

    def mail(self, subject_part: str):
        """The newest mail with this subject, after the worker has delivered the outbox."""
        run_worker()
        return self.smtp.inbox.latest(subject_part)
