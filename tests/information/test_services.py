"""Issue 11: writing information texts. A changed text is dated "as of" today unless the
operator dated it; the seeded FAQ is created once and never overwrites operators' edits;
every seed question has an entry in the demo data."""

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from django.utils import timezone

from impftermin.demo.services import demo_data_load
from impftermin.information.models import FaqEntry, Page
from impftermin.information.services import information_seed_load, information_text_save
from tests.information.helpers import SEEDS, seed_data

pytestmark = pytest.mark.django_db
SHARED_SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def test_a_changed_text_is_dated_today(region):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    entry.as_of = dt.date(2021, 7, 2)
    entry.save()
    entry.answer_de = "Die PIN gilt 10 Minuten."
    information_text_save(text=entry)
    entry.refresh_from_db()
    assert entry.as_of == timezone.localdate()


def test_a_date_the_operator_set_is_kept(region):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    entry.answer_de = "Die PIN gilt 10 Minuten."
    entry.as_of = dt.date(2021, 7, 19)
    information_text_save(text=entry, date_set_by_hand=True)
    entry.refresh_from_db()
    assert entry.as_of == dt.date(2021, 7, 19)


def test_two_operators_saving_in_turn_both_date_their_change_today(region):
    FaqEntry.objects.filter(region=region, key="pin-validity").update(as_of=dt.date(2021, 5, 1))
    first = FaqEntry.objects.get(region=region, key="pin-validity")
    second = FaqEntry.objects.get(region=region, key="pin-validity")  # opened at the same time
    first.answer_de = "Text von A"
    information_text_save(text=first)
    second.answer_de = "Text von B"  # B's form still holds the old date, untouched
    information_text_save(text=second)
    second.refresh_from_db()
    assert (second.answer_de, second.as_of) == ("Text von B", timezone.localdate())


def test_reordering_alone_keeps_the_date(region):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    before = entry.as_of
    entry.order = 999
    information_text_save(text=entry)
    entry.refresh_from_db()
    assert (entry.order, entry.as_of) == (999, before)


def test_seeding_again_creates_nothing_and_keeps_edits(region):
    entry = FaqEntry.objects.get(region=region, key="pin-validity")
    entry.answer_de = "Vom Betrieb geändert."
    entry.save()
    count = FaqEntry.objects.count() + Page.objects.count()
    assert information_seed_load(region=region, data=seed_data("westfalen-lippe")) == 0
    assert FaqEntry.objects.count() + Page.objects.count() == count
    entry.refresh_from_db()
    assert entry.answer_de == "Vom Betrieb geändert."


def _questions() -> dict[str, list[str]]:
    return json.loads((SEEDS / "seed_questions.json").read_text(encoding="utf-8"))


def test_item2_every_seed_question_has_an_entry_in_the_demo_data():
    demo_data_load(with_slots=False)
    for slug, questions in _questions().items():
        entries = seed_data(slug)["entries"]
        seeded = {e["seed_question"]: e["key"] for e in entries if e["seed_question"]}
        assert set(seeded) == set(questions), slug
        keys = set(FaqEntry.objects.filter(region__slug=slug).values_list("key", flat=True))
        for question in questions:
            assert seeded[question] in keys, question


def test_item2_the_seed_questions_are_those_of_the_seed_documents():
    """The list the test above uses is the seeds' own (../shared/seeds beside the clone)."""
    if not SHARED_SEEDS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"seed documents missing: {SHARED_SEEDS}")
        pytest.skip("the seed documents are not beside this clone")
    texts = {
        path.name: " ".join(path.read_text(encoding="utf-8").split())
        for path in SHARED_SEEDS.glob("*.txt")
    }
    for slug, questions in _questions().items():
        source = seed_data(slug)["source"]
        for question in questions:
            assert " ".join(question.split()) in texts[source], question
        # and none missed: every line of the seed that asks something is in the list
        asked = [
            " ".join(line.split())
            for line in (SHARED_SEEDS / source).read_text(encoding="utf-8").splitlines()
            if line.strip().endswith("?") and len(line.split()) > 3
        ]
        listed = " ".join(questions)
        for line in asked:
            assert line in listed or line in " ".join(
                e["answer"]["de"] for e in seed_data(slug)["entries"]
            ), line
