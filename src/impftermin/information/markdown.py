"""Operators write Markdown; people get sanitised HTML. Two locks: markdown-it renders with
raw HTML switched off (a <script> stays text) and refuses javascript:/data: links, and nh3
then keeps only an allow-list of tags, attributes and URL schemes."""

from __future__ import annotations

import html

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
SCHEMES = {"https", "http", "mailto", "tel"}


def render(text: str) -> SafeString:
    """HTML for `text` (Markdown). Headings # and ## become h3: the page has its own h1
    and h2. (With raw HTML off, every "<h1>" in the output is markdown-it's own.)"""
    rendered = _MARKDOWN.render(text or "")
    for level in ("h1", "h2"):
        rendered = rendered.replace(f"<{level}>", "<h3>").replace(f"</{level}>", "</h3>")
    return mark_safe(  # noqa: S308 - nh3 has just cleaned it against the allow-list
        nh3.clean(
            rendered,
            tags=TAGS,
            clean_content_tags={"script", "style"},
            attributes={"a": {"href"}, "th": {"align"}, "td": {"align"}},
            url_schemes=SCHEMES,
            link_rel="noopener noreferrer",
            set_tag_attribute_values={"a": {"class": "kern-link"}},
        )
    )


def plain(text: str) -> str:
    """The text without formatting (not HTML: templates escape it), e.g. for an excerpt."""
    return html.unescape(nh3.clean(_MARKDOWN.render(text or ""), tags=set())).strip()
