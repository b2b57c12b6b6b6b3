"""The console's forms for codes-mode regions: their shape only; the services decide. There
is deliberately no field for a name, a phone number or a date of birth to search by (R4):
a booking is found by its code alone. Birth dates on the booking form only decide the
vaccine (eligibility by age) and are not stored."""

from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from impftermin.codes.services import MAX_CODES_PER_BOOKING
from impftermin.core.forms import GermanDateField, KernForm

# The call's reason, written to the audit log with every look-up and change. The values
# are stable German words (the log is read in German); the labels are translated.
LOOKUP_REASONS = [
    ("Auskunft", _("Auskunft")),
    ("Umbuchung", _("Umbuchung")),
    ("Stornierung", _("Stornierung")),
    ("Sonstiges", _("Sonstiges")),
]
BOOKING_REASONS = [
    ("Terminbuchung", _("Terminbuchung")),
    ("Sonstiges", _("Sonstiges")),
]


def _interpolate(text, number: int) -> str:
    return str(text) % {"n": number}


# Labels made when the module is imported: translated when shown, in the page's language.
_person_label = lazy(_interpolate, str)


def _reason_field(choices) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Anlass des Anrufs"),
        choices=[("", _("Bitte wählen")), *choices],
        help_text=_("Wird mit jedem Zugriff protokolliert."),
        error_messages={
            "required": _("Bitte wählen Sie den Anlass des Anrufs."),
            "invalid_choice": _("Bitte wählen Sie den Anlass des Anrufs."),
        },
    )


def _birth_date(number: int) -> GermanDateField:
    return GermanDateField(
        label=_person_label(_("Geburtsdatum Person %(n)d"), number),
        required=number == 1,
        help_text=_(
            "Zum Beispiel 31.01.1950. Nur für die Wahl des Impfstoffs; wird nicht gespeichert."
        )
        if number == 1
        else None,
        error_messages={"required": _("Bitte geben Sie das Geburtsdatum an.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": "10"}),
    )


class CallerForm(KernForm):
    """Book for a caller: where they live, who comes (1 to 4 people), e-mail optional (R1)."""

    postcode = forms.CharField(
        label=_("Postleitzahl des Wohnorts"),
        max_length=10,
        error_messages={"required": _("Bitte geben Sie die Postleitzahl an.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "size": "6", "autofocus": True}
        ),
    )
    birth_date_1 = _birth_date(1)
    birth_date_2 = _birth_date(2)
    birth_date_3 = _birth_date(3)
    birth_date_4 = _birth_date(4)
    email = forms.EmailField(
        label=pgettext_lazy("label", "E-Mail-Adresse"),
        required=False,
        max_length=254,
        help_text=_(
            "Nur wenn die anrufende Person eine Bestätigung per E-Mail möchte. Ohne Adresse geht keine E-Mail hinaus."
        ),
        error_messages={"invalid": _("Bitte geben Sie eine gültige E-Mail-Adresse an.")},
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    reason = _reason_field(BOOKING_REASONS)

    def birth_dates(self) -> list:
        """The birth dates given, one per person, in order."""
        return [
            self.cleaned_data[f"birth_date_{n}"]
            for n in range(1, MAX_CODES_PER_BOOKING + 1)
            if self.cleaned_data.get(f"birth_date_{n}")
        ]


class VaccineForm(KernForm):
    vaccine = forms.TypedChoiceField(
        label=pgettext_lazy("label", "Impfstoff"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Bitte wählen Sie einen Impfstoff."),
            "invalid_choice": _("Bitte wählen Sie einen Impfstoff."),
        },
    )

    def __init__(self, *args, vaccines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vaccine"].choices = [(v.pk, v.name) for v in vaccines]


class LookupForm(KernForm):
    """The only way to find a booking on the phone: its code (R4)."""

    code = forms.CharField(
        label=pgettext_lazy("label", "Vermittlungscode"),
        max_length=40,
        help_text=_("12 Zeichen, z. B. ABCD-EFGH-JKMN. Einer der beiden Codes genügt."),
        error_messages={"required": _("Bitte geben Sie den Vermittlungscode ein.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "size": "16", "autofocus": True}
        ),
    )
    reason = _reason_field(LOOKUP_REASONS)


class RebookForm(KernForm):
    """Rebook the pair found by its code; with the codes of people booked side by side with
    it (R7), they move together (to times with room for all)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number in range(2, MAX_CODES_PER_BOOKING + 1):
            self.fields[f"together_{number}"] = forms.CharField(
                label=_person_label(_("Code von Person %(n)d (gemeinsam umbuchen)"), number),
                required=False,
                max_length=40,
                widget=forms.TextInput(
                    attrs={"autocomplete": "off", "spellcheck": "false", "size": "16"}
                ),
            )

    def other_codes(self) -> list[tuple[str, str]]:
        """(field, code) for each code given, in order."""
        return [
            (name, self.cleaned_data[name].strip())
            for name in self.fields
            if self.cleaned_data.get(name, "").strip()
        ]
