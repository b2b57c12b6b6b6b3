"""The check-in desk's forms: their shape only; the services decide."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from impftermin.core.forms import GermanDateField, KernForm

SEARCH_ONE = _(
    "Bitte geben Sie einen Vermittlungscode, eine Vorgangskennung oder Nachname und Geburtsdatum an."
)


class DeskSearchForm(KernForm):
    """One of: a booking code, a Vorgangskennung (typed or scanned: a QR scanner types
    it), or last name and date of birth."""

    code = forms.CharField(
        label=pgettext_lazy("label", "Vermittlungscode"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    vorgangskennung = forms.CharField(
        label=_("Vorgangskennung oder QR-Code vom Brief"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    last_name = forms.CharField(
        label=_("Nachname"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    birth_date = GermanDateField(
        label=_("Geburtsdatum"),
        required=False,
        help_text=_("Zum Beispiel 31.01.1950; nur mit dem Nachnamen."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": "10"}),
    )

    def clean(self):
        data = super().clean()
        by_name = data.get("last_name", "").strip() and data.get("birth_date")
        if not (data.get("code", "").strip() or data.get("vorgangskennung", "").strip() or by_name):
            raise forms.ValidationError(SEARCH_ONE, code="search_one")
        return data

    def kind(self) -> str:
        data = self.cleaned_data
        if data["code"].strip():
            return "code"
        return "vorgangskennung" if data["vorgangskennung"].strip() else "name"


class VaccinationForm(KernForm):
    appointment = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    batch_number = forms.CharField(
        label=_("Chargennummer"),
        max_length=40,
        error_messages={"required": _("Bitte geben Sie die Chargennummer an.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "size": "12"}),
    )


YEARS = range(2000, 2101)
OUT_OF_RANGE = _("Bitte ein Datum zwischen 2000 und 2100.")


def _in_range(day: dt.date | None) -> dt.date | None:
    if day is not None and day.year not in YEARS:
        raise forms.ValidationError(OUT_OF_RANGE, code="out_of_range")
    return day


class StatisticsForm(KernForm):
    date_from = GermanDateField(label=_("Von"), required=False)
    date_to = GermanDateField(label=_("Bis"), required=False)
    region = forms.TypedChoiceField(
        label=pgettext_lazy("label", "Region"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", _("Alle")), *((r.pk, r.name) for r in regions)]

    def clean_date_from(self):
        return _in_range(self.cleaned_data.get("date_from"))

    def clean_date_to(self):
        return _in_range(self.cleaned_data.get("date_to"))

    def clean(self):
        from impftermin.vaccinations.statistics import MAX_DAYS

        data = super().clean()
        today = timezone.localdate()
        data["date_to"] = data.get("date_to") or today
        data["date_from"] = data.get("date_from") or data["date_to"] - dt.timedelta(days=6)
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("Der erste Tag liegt nach dem letzten."), code="order")
        if (data["date_to"] - data["date_from"]).days >= MAX_DAYS:
            raise forms.ValidationError(
                _("Bitte höchstens %(days)d Tage auf einmal."),
                code="too_long",
                params={"days": MAX_DAYS},
            )
        return data


class ExportForm(KernForm):
    tag = GermanDateField(label=_("Tag"), required=False)
    region = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)

    def clean_tag(self):
        return _in_range(self.cleaned_data.get("tag"))


PLAN_DAYS = 62


class PlanningForm(KernForm):
    date_from = GermanDateField(label=_("Von"), required=False)
    date_to = GermanDateField(label=_("Bis"), required=False)

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        data["date_from"] = _in_range(data.get("date_from")) or today
        data["date_to"] = _in_range(data.get("date_to")) or data["date_from"] + dt.timedelta(
            days=13
        )
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("Der erste Tag liegt nach dem letzten."), code="order")
        if (data["date_to"] - data["date_from"]).days >= PLAN_DAYS:
            raise forms.ValidationError(
                _("Bitte höchstens %(days)d Tage auf einmal."),
                code="too_long",
                params={"days": PLAN_DAYS},
            )
        return data


class ClosureForm(KernForm):
    day = GermanDateField(
        label=_("Tag"), error_messages={"required": _("Bitte geben Sie den Tag an.")}
    )
    reason = forms.CharField(label=_("Grund"), required=False, max_length=200)
