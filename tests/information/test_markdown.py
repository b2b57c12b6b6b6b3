"""Issue 11 item 1: operators' texts are Markdown, rendered and sanitised; no raw HTML, no
script, no javascript: link ever reaches a page."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from impftermin.information.markdown import TAGS, plain, render

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[klick](javascript:alert(1))",
    "[klick](JaVaScRiPt:alert(1))",
    "[klick](data:text/html;base64,PHNjcmlwdD4=)",
    '<a href="https://example.org" onclick="alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    '<svg onload="alert(1)">',
]


TAG = re.compile(r"<(/?)([a-zA-Z0-9]+)([^>]*)>")


def _safe(html: str) -> None:
    """Every real tag (escaped ones read &lt;) is allowed, with allowed attributes only,
    and every link goes to http(s), mailto, tel or is relative (our own pages)."""
    for _closing, name, attributes in TAG.findall(html):
        assert name.lower() in TAGS, name
        for attribute, value in re.findall(r'([\w-]+)="([^"]*)"', attributes):
            assert attribute in {"href", "class", "rel", "align"}, attribute
            scheme = re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.-]*):", value)
            if attribute == "href" and scheme:  # relative links to our own pages are fine
                assert scheme.group(1).lower() in {"http", "https", "mailto", "tel"}, value


def test_markdown_is_formatted():
    html = render("Absatz mit **fett**.\n\n- eins\n- zwei\n\n[Seite](https://example.org)")
    assert "<strong>fett</strong>" in html and "<li>eins</li>" in html
    assert '<a href="https://example.org" class="kern-link" rel="noopener noreferrer">' in html


def test_headings_sit_below_the_pages_own():
    html = render("# Eins\n\n## Zwei\n\n### Drei")
    assert "<h1" not in html and "<h2" not in html
    assert html.count("<h3>") == 3


def test_raw_html_is_shown_as_text_never_run():
    for text in HOSTILE:
        html = render(f"Vorher {text} nachher")
        _safe(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in render("<script>alert(1)</script>")
    assert "href" not in render("[klick](javascript:alert(1))")


def test_plain_text_for_excerpts_is_not_html():
    assert plain("**a** <b>x</b> & [y](https://e.org)") == "a <b>x</b> & y"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*HOSTILE, "**", "[", "](", ")", "\n\n", "- ", "`", "x"]), max_size=12
    ),
    st.text(max_size=40),
)
def test_any_text_renders_safely(parts, noise):
    _safe(render("".join(parts) + noise))
