"""The forms of registration and account pages: their shape only; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from impftermin.core.forms import GermanDateField, KernForm
from impftermin.core.proof_of_work import ProofOfWorkForm
from impftermin.registrations.models import Residence


def _required(message):
    return {"required": message}


def _choice(label, message, **kwargs) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": message, "invalid_choice": message},
        **kwargs,
    )


def _passwords_match(form: KernForm, data: dict) -> dict:
    if data.get("password") and data.get("password_again") != data.get("password"):
        form.add_error("password_again", _("Die beiden Passwörter stimmen nicht überein."))
    return data


def _vorgangskennung_field() -> forms.CharField:
    return forms.CharField(
        label=_("Vorgangskennung"),
        max_length=40,
        help_text=_("12 Zeichen, z. B. ABCD-EFGH-JKMN. Sie steht in Ihrer Bestätigung."),
        error_messages=_required(_("Bitte geben Sie Ihre Vorgangskennung ein.")),
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "spellcheck": "false", "size": "16"}
        ),
    )


class StartForm(KernForm):
    """Postcode (R12: region and district) and date of birth (eligibility) of the person
    to be vaccinated; the registration stores both."""

    postcode = forms.CharField(
        label=_("Postleitzahl des Wohnsitzes"),
        max_length=10,
        help_text=_(
            "Haupt- oder Nebenwohnsitz in der Region. Die Postleitzahl bestimmt den Kreis und die Impfzentren."
        ),
        error_messages=_required(_("Bitte geben Sie Ihre Postleitzahl an.")),
        widget=forms.TextInput(
            attrs={"autocomplete": "postal-code", "inputmode": "numeric", "size": "6"}
        ),
    )
    birth_date = GermanDateField(
        label=_("Geburtsdatum der Person, die geimpft wird"),
        help_text=_("Zum Beispiel 31.01.1950."),
        error_messages=_required(_("Bitte geben Sie das Geburtsdatum an.")),
        widget=forms.TextInput(attrs={"autocomplete": "bday", "size": "10"}),
    )


class RegistrationForm(ProofOfWorkForm, KernForm):
    """Everything else the registration needs (R13, R15, R27)."""

    first_name = forms.CharField(
        label=pgettext_lazy("label", "Vorname"),
        max_length=100,
        error_messages=_required(_("Bitte geben Sie den Vornamen an.")),
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=pgettext_lazy("label", "Nachname"),
        max_length=100,
        error_messages=_required(_("Bitte geben Sie den Nachnamen an.")),
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    street = forms.CharField(
        label=pgettext_lazy("label", "Straße und Hausnummer"),
        max_length=150,
        error_messages=_required(_("Bitte geben Sie Straße und Hausnummer an.")),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    city = forms.CharField(
        label=pgettext_lazy("label", "Ort"),
        max_length=100,
        error_messages=_required(_("Bitte geben Sie den Wohnort an.")),
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    residence = forms.ChoiceField(
        label=_("Wohnsitz in der Region"),
        choices=Residence.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Bitte wählen Sie Haupt- oder Nebenwohnsitz."),
            "invalid_choice": _("Bitte wählen Sie Haupt- oder Nebenwohnsitz."),
        },
    )
    centre = _choice(_("Impfzentrum"), _("Bitte wählen Sie ein Impfzentrum."))
    vaccine = _choice(pgettext_lazy("label", "Impfstoff"), _("Bitte wählen Sie einen Impfstoff."))
    single_dose = forms.BooleanField(
        label=_("Die Person ist genesen und braucht nur eine Impfung."),
        required=False,
        help_text=_("Dann wird nur ein Termin zugewiesen, kein Zweittermin."),
    )
    for_someone_else = forms.BooleanField(
        label=_("Ich registriere eine andere Person (z. B. ein Elternteil)."),
        required=False,
        help_text=_(
            "Die Termine gehören der Person, die geimpft wird; sie sind nicht übertragbar."
        ),
    )
    email = forms.CharField(
        label=pgettext_lazy("label", "E-Mail-Adresse"),
        max_length=254,
        required=False,
        help_text=_(
            "Hierhin schicken wir die Termine. Ohne E-Mail-Adresse kommen sie per Brief an die Anschrift oben. Eine Adresse kann für mehrere Personen verwendet werden."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    mobile = forms.CharField(
        label=pgettext_lazy("label", "Mobilnummer"),
        max_length=40,
        required=False,
        help_text=_("Für Rückfragen."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=pgettext_lazy("label", "Passwort"),
        max_length=256,
        strip=False,
        help_text=_(
            "Mindestens 8 Zeichen, nicht nur Ziffern, kein gängiges Passwort. Mit Vorgangskennung und Passwort melden Sie sich später an."
        ),
        error_messages=_required(_("Bitte wählen Sie ein Passwort.")),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Passwort wiederholen"),
        max_length=256,
        strip=False,
        error_messages=_required(_("Bitte wiederholen Sie das Passwort.")),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, centres=(), vaccines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].choices = [
            (c.pk, f"{c.name}, {c.street}, {c.postcode} {c.city}") for c in centres
        ]
        self.fields["vaccine"].choices = [(v.pk, v.name) for v in vaccines]

    def clean(self):
        return _passwords_match(self, super().clean())


class LogInForm(ProofOfWorkForm, KernForm):
    vorgangskennung = _vorgangskennung_field()
    password = forms.CharField(
        label=pgettext_lazy("label", "Passwort"),
        max_length=256,
        strip=False,
        error_messages=_required(_("Bitte geben Sie Ihr Passwort ein.")),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordForgottenForm(KernForm):
    vorgangskennung = _vorgangskennung_field()
    email = forms.CharField(
        label=pgettext_lazy("label", "E-Mail-Adresse"),
        max_length=254,
        help_text=_("Die Adresse, die Sie bei der Registrierung angegeben haben."),
        error_messages=_required(_("Bitte geben Sie Ihre E-Mail-Adresse an.")),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class NewPasswordForm(KernForm):
    password = RegistrationForm.base_fields["password"]
    password_again = RegistrationForm.base_fields["password_again"]

    def clean(self):
        return _passwords_match(self, super().clean())
