"""Reading information texts in the visitor's language: a region's FAQ by category (with a
search over it), its pages, and when any of them last changed (for caching)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db.models import Count, Max
from django.utils.safestring import SafeString

from impftermin.information import markdown
from impftermin.information.models import FaqEntry, Page, PageKind
from impftermin.regions.models import Region

MAX_QUERY = 100  # characters of a search
MAX_WORDS = 8


@dataclass(frozen=True)
class Localised:
    """A text in the visitor's language, or German (`lang` says which) where nobody has
    translated it yet."""

    text: str
    lang: str


def localised(obj, name: str, language: str) -> Localised:
    if language != "de":
        translated = getattr(obj, f"{name}_{language}", "")
        if translated:
            return Localised(translated, language)
    return Localised(getattr(obj, f"{name}_de"), "de")


@dataclass
class EntryView:
    key: str
    question: Localised
    answer: SafeString
    answer_lang: str
    plain: SafeString | None  # the plain-language German answer, where one is written
    as_of: dt.date


@dataclass
class Category:
    name: Localised
    entries: list[EntryView] = field(default_factory=list)


def _entry_view(entry: FaqEntry, language: str) -> EntryView:
    answer = localised(entry, "answer", language)
    plain = entry.answer_plain_de if language == "de" and entry.answer_plain_de else None
    return EntryView(
        key=entry.key,
        question=localised(entry, "question", language),
        answer=markdown.render(answer.text),
        answer_lang=answer.lang,
        plain=markdown.render(plain) if plain else None,
        as_of=entry.as_of,
    )


def search_words(query: object) -> list[str]:
    """The words of a search, at most MAX_WORDS of at most MAX_QUERY characters in all."""
    if not isinstance(query, str):
        return []
    return query[:MAX_QUERY].split()[:MAX_WORDS]


def faq(*, region: Region, language: str, query: str = "") -> list[Category]:
    """The region's published entries by category (in the order of each category's first
    entry). With `query`, only entries whose question or answer contain every word, in the
    visitor's language or in German."""
    entries = FaqEntry.objects.filter(region=region, published=True).order_by("order", "pk")
    words = [w.casefold() for w in search_words(query)]
    categories: dict[str, Category] = {}
    for entry in entries:
        if words:
            haystack = " ".join(
                [
                    entry.question_de,
                    markdown.plain(entry.answer_de),
                    getattr(entry, f"question_{language}", "") if language != "de" else "",
                    markdown.plain(getattr(entry, f"answer_{language}", ""))
                    if language != "de"
                    else "",
                ]
            ).casefold()
            if not all(word in haystack for word in words):
                continue
        name = localised(entry, "category", language)
        category = categories.setdefault(entry.category_de, Category(name=name))
        category.entries.append(_entry_view(entry, language))
    return list(categories.values())


def faq_questions(*, region_id: int, keys: list[str], language: str) -> list[tuple]:
    """(key, question) of the published entries with these keys, in the order given."""
    found = {
        e.key: localised(e, "question", language)
        for e in FaqEntry.objects.filter(region_id=region_id, key__in=keys, published=True)
    }
    return [(key, found[key]) for key in keys if key in found]


def pages(*, region: Region, language: str) -> dict[str, list[dict]]:
    """The region's published pages by kind: key, title (localised)."""
    found: dict[str, list[dict]] = {}
    for page in Page.objects.filter(region=region, published=True).order_by("order", "pk"):
        found.setdefault(page.kind, []).append(
            {"key": page.key, "title": localised(page, "title", language)}
        )
    return found


def page(*, region: Region, key: object, language: str, plain: bool = False) -> dict | None:
    if not isinstance(key, str) or len(key) > 80:
        return None
    found = Page.objects.filter(region=region, key=key, published=True).first()
    if found is None:
        return None
    body = localised(found, "body", language)
    use_plain = plain and language == "de" and bool(found.body_plain_de)
    return {
        "key": found.key,
        "kind": PageKind(found.kind),
        "title": localised(found, "title", language),
        "body": markdown.render(found.body_plain_de if use_plain else body.text),
        "body_lang": body.lang,
        "has_plain": language == "de" and bool(found.body_plain_de),
        "plain": use_plain,
        "as_of": found.as_of,
    }


def version(*, region: Region) -> str:
    """Changes whenever anything on the region's information pages changes: a text saved or
    deleted, or the hotline details. For the pages' ETag."""
    texts = [
        model.objects.filter(region=region).aggregate(at=Max("updated_at"), n=Count("pk"))
        for model in (FaqEntry, Page)
    ]
    parts = [
        *(f"{t['at'].isoformat() if t['at'] else '-'}/{t['n']}" for t in texts),
        region.name,
        region.hotline,
        region.hotline_abroad,
        region.hotline_hours,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
