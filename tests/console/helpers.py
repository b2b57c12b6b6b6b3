"""Checks shared by the console's tests."""

import re

from impftermin.console.views import SHORTCUTS

ACCESS_KEY = re.compile(r'accesskey="([^"]*)" aria-keyshortcuts="([^"]*)"')


def assert_shortcuts(page: str) -> set[str]:
    """Issue 6 item 7: every access key on the page has one meaning, is one of the listed
    shortcuts and is announced (aria-keyshortcuts). Returns the keys."""
    found = ACCESS_KEY.findall(page)
    assert page.count("accesskey=") == len(found)  # none without its announcement
    keys = [key for key, _announced in found]
    assert len(keys) == len(set(keys)), keys
    listed = {key.lower() for key, _action in SHORTCUTS}
    for key, announced in found:
        assert key in listed and announced == f"Alt+Shift+{key.upper()}"
    return set(keys)
