"""Fixtures of the browser walks: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.walk import CHROMIUM, CI

# The region in assignment mode with its population-register file, for the registration walk.


POLICY_VIOLATIONS: list[str] = []


def _note_policy_violation(message) -> None:
    """Chromium reports what the Content-Security-Policy refused on the console."""
    if message.type == "error" and "Content Security Policy" in message.text:
        POLICY_VIOLATIONS.append(message.text)


@pytest.fixture(autouse=True)
def _no_policy_violation():
    """Issue 10: our own pages never break our Content-Security-Policy (an inline script,
    a third party's font, the proof of work's worker): each walk fails on a refusal."""
    POLICY_VIOLATIONS.clear()
    yield
    assert not POLICY_VIOLATIONS, POLICY_VIOLATIONS


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"needs Chromium at {CHROMIUM}: make test installs Debian's chromium"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own database
    # calls are plain synchronous code all the same.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        opened = chromium.new_context

        def new_context(**options):
            context = opened(**options)
            context.on("console", _note_policy_violation)
            return context

        chromium.new_context = new_context  # every walk's pages are watched
        yield chromium
        chromium.close()
