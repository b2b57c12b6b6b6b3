"""The choice of a time from the free pairs shown (every channel's pages use it)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from impftermin.booking.selectors import PairOption
from impftermin.centres.selectors import centres_by_id
from impftermin.core.forms import KernForm
from impftermin.core.proof_of_work import ProofOfWorkForm


class SlotOptionField(forms.ChoiceField):
    """A time from the list shown; one taken meanwhile is still accepted here, so that the
    booking engine can offer the next free ones (R11) instead of a form error."""

    def valid_value(self, value) -> bool:
        return bool(re.fullmatch(r"[0-9]{1,18}(-[0-9]{1,18})?", str(value)))


class SlotChoiceForm(ProofOfWorkForm, KernForm):
    option = SlotOptionField(
        label=_("Uhrzeit"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Bitte wählen Sie eine Uhrzeit."),
            "invalid_choice": _("Diese Uhrzeit ist nicht mehr frei. Bitte wählen Sie eine andere."),
        },
    )

    def __init__(self, *args, options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = options

    def slot_ids(self) -> tuple[int, int | None]:
        first, _sep, second = self.cleaned_data["option"].partition("-")
        return int(first), int(second) if second else None


def option_value(option: PairOption) -> str:
    if option.second_slot_id is None:
        return str(option.first_slot_id)
    return f"{option.first_slot_id}-{option.second_slot_id}"


def labelled_options(options: list[PairOption]) -> list[tuple[PairOption, str, object]]:
    """Each option with its form value and its centre (a district may have several)."""
    centres = centres_by_id(ids=[o.centre_id for o in options])
    return [(o, option_value(o), centres.get(o.centre_id)) for o in options]


def lost_race(result, *, proof_of_work: bool = True) -> dict:
    """R11: a lost race is no error; the page offers the next free times instead (in a
    form without the proof of work where staff choose)."""
    alternatives = labelled_options(result.alternatives)
    return {
        "form": SlotChoiceForm(
            options=[(value, "") for _o, value, _c in alternatives], proof_of_work=proof_of_work
        ),
        "options": alternatives,
        "lost_race": True,
    }
