"""Writing information texts: the operator's save (which keeps the "as of" date honest) and
the demo regions' seeded FAQ. The back office's forms call these; nothing else writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from impftermin.information.models import FaqEntry, Page, PageKind
from impftermin.regions.models import Region

# Changing any of these is a new text: its "as of" date becomes today unless the operator
# set one themselves.
CONTENT_FIELDS = {
    FaqEntry: {
        "category_de", "category_en", "question_de", "question_en",
        "answer_de", "answer_en", "answer_plain_de",
    },
    Page: {"title_de", "title_en", "body_de", "body_en", "body_plain_de"},
}  # fmt: skip


@transaction.atomic
def information_text_save(*, text: FaqEntry | Page, date_set_by_hand: bool = False) -> None:
    """Save an entry or page an operator wrote or changed. A text that differs from the
    stored one (locked, so the comparison is with what is there now, whoever saved it last)
    is dated today, unless the operator set the date by hand."""
    model = type(text)
    stored = model.objects.select_for_update().filter(pk=text.pk).first() if text.pk else None
    changed = stored is not None and any(
        getattr(stored, f) != getattr(text, f) for f in CONTENT_FIELDS[model]
    )
    if changed and not date_set_by_hand:
        text.as_of = timezone.localdate()
    if text.as_of is None:
        text.as_of = timezone.localdate()
    text.full_clean()
    text.save()


def _date(value: Any, default: dt.date) -> dt.date:
    return dt.date.fromisoformat(value) if value else default


def _both(value: dict, name: str) -> dict[str, str]:
    return {f"{name}_de": value["de"], f"{name}_en": value.get("en", "")}


@transaction.atomic
def information_seed_load(*, region: Region, data: dict) -> int:
    """Create the seeded FAQ entries and quick guides (demo data) that the region lacks, by
    key; an entry that exists is left as it is, so operators' edits survive a reload.
    Returns how many were created."""
    today = timezone.localdate()
    region_as_of = _date(data.get("as_of"), today)
    created = 0
    for item in data.get("entries", []):
        _entry, new = FaqEntry.objects.get_or_create(
            region=region,
            key=item["key"],
            defaults={
                "order": item["order"],
                "as_of": _date(item.get("as_of"), region_as_of),
                **_both(item["category"], "category"),
                **_both(item["question"], "question"),
                **_both(item["answer"], "answer"),
            },
        )
        created += new
    for order, item in enumerate(data.get("guides", []), start=1):
        _page, new = Page.objects.get_or_create(
            region=region,
            key=item["key"],
            defaults={
                "kind": item.get("kind", PageKind.GUIDE),
                "order": item.get("order", order * 10),
                "as_of": _date(item.get("as_of"), region_as_of),
                **_both(item["title"], "title"),
                **_both(item["body"], "body"),
            },
        )
        created += new
    return created
