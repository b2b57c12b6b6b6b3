"""The forms of the citizen's codes flow: their shape only; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from impftermin.codes.services import MAX_CODES_PER_BOOKING
from impftermin.core.forms import GermanDateField, KernForm
from impftermin.core.proof_of_work import ProofOfWorkForm


def _required(message):
    return {"required": message}


class PostcodeForm(KernForm):
    postcode = forms.CharField(
        label=_("Postleitzahl Ihres Wohnorts"),
        max_length=10,
        help_text=_("Die Postleitzahl bestimmt Ihren Kreis und Ihr Impfzentrum."),
        error_messages=_required(_("Bitte geben Sie Ihre Postleitzahl an.")),
        widget=forms.TextInput(
            attrs={"autocomplete": "postal-code", "inputmode": "numeric", "size": "6"}
        ),
    )


class BirthDateForm(KernForm):
    birth_date = GermanDateField(
        label=_("Geburtsdatum"),
        help_text=_("Zum Beispiel 31.01.1950. Wir speichern es nicht."),
        error_messages=_required(_("Bitte geben Sie Ihr Geburtsdatum an.")),
        widget=forms.TextInput(attrs={"autocomplete": "bday", "size": "10"}),
    )


class PinRequestForm(ProofOfWorkForm, KernForm):
    vaccine = forms.TypedChoiceField(
        label=pgettext_lazy("label", "Impfstoff"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Bitte wählen Sie einen Impfstoff."),
            "invalid_choice": _("Bitte wählen Sie einen Impfstoff."),
        },
    )
    mobile = forms.CharField(
        label=pgettext_lazy("label", "Mobilnummer"),
        max_length=40,
        error_messages=_required(_("Bitte geben Sie Ihre Mobilnummer an.")),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.CharField(
        label=pgettext_lazy("label", "E-Mail-Adresse"),
        max_length=254,
        help_text=_(
            "Hierhin senden wir einen Bestätigungslink und danach Ihre Vermittlungscodes. Eine Adresse kann für mehrere Personen verwendet werden."
        ),
        error_messages=_required(_("Bitte geben Sie Ihre E-Mail-Adresse an.")),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, vaccines=(), minutes: int = 10, **kwargs):
        # The region decides how long a PIN is valid (R2).
        self.base_fields["mobile"].help_text = ""
        super().__init__(*args, **kwargs)
        self.fields["vaccine"].choices = [(v.pk, v.name) for v in vaccines]
        self.fields["mobile"].help_text = ngettext(
            "An diese Nummer senden wir eine PIN per SMS. Sie gilt %(minutes)d Minute. Ausländische Nummern mit Ländervorwahl, z. B. +31 6 12345678.",
            "An diese Nummer senden wir eine PIN per SMS. Sie gilt %(minutes)d Minuten. Ausländische Nummern mit Ländervorwahl, z. B. +31 6 12345678.",
            minutes,
        ) % {"minutes": minutes}
        self.style_field("mobile")


class PinForm(KernForm):
    pin = forms.CharField(
        label=_("PIN aus der SMS"),
        max_length=20,
        help_text=_("6 Ziffern"),
        error_messages=_required(_("Bitte geben Sie die PIN aus der SMS ein.")),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": "8"}
        ),
    )


def _code_field(number: int) -> forms.CharField:
    return forms.CharField(
        label=pgettext_lazy("label", "Vermittlungscode")
        if number == 1
        else _("Vermittlungscode Person %(n)d") % {"n": number},
        max_length=40,
        required=number == 1,
        help_text=_("12 Zeichen, z. B. ABCD-EFGH-JKMN. Einer Ihrer beiden Codes genügt.")
        if number == 1
        else None,
        error_messages=_required(_("Bitte geben Sie Ihren Vermittlungscode ein.")),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "size": "16"}),
    )


class BookingCodesForm(PostcodeForm):
    """One code per person (a household books side by side, R7), and the postcode."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        postcode = self.fields.pop("postcode")
        for number in range(1, MAX_CODES_PER_BOOKING + 1):
            self.fields[f"code_{number}"] = _code_field(number)
            self.style_field(f"code_{number}")
        self.fields["postcode"] = postcode  # after the codes, in the page's order

    def codes_by_field(self) -> list[tuple[str, str]]:
        """The codes typed in, each with its field's name (for its error)."""
        names = [f"code_{n}" for n in range(1, MAX_CODES_PER_BOOKING + 1)]
        return [(name, self.cleaned_data[name]) for name in names if self.cleaned_data.get(name)]

    def codes(self) -> list[str]:
        return [code for _name, code in self.codes_by_field()]


class CheckCodeForm(KernForm):
    code = forms.CharField(
        label=pgettext_lazy("label", "Vermittlungscode"),
        max_length=40,
        help_text=_("12 Zeichen, z. B. ABCD-EFGH-JKMN. Einer Ihrer beiden Codes genügt."),
        error_messages=_required(_("Bitte geben Sie Ihren Vermittlungscode ein.")),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "size": "16"}),
    )
