"""Fixtures of the browser walks: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.walk import CHROMIUM, CI

# The region in assignment mode with its population-register file, for the registration walk.


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
        yield chromium
        chromium.close()
