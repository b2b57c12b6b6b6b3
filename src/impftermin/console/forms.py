"""The console's forms for registrations (assignment mode): their shape only; the services
decide. The first field of every form has the focus, so that an agent types at once."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from impftermin.core.forms import GermanDateField, KernForm
from impftermin.registrations.forms import RegistrationForm, StartForm


class CallReason(models.TextChoices):
    """Why the caller called: stored as the audit entry's `why`, in the source language."""

    INFORMATION = "Auskunft", _("Auskunft")
    REBOOK = "Umbuchung", _("Umbuchung")
    CANCEL = "Stornierung", _("Stornierung")
    DELETE = "Löschung", _("Löschung")
    COUPLE = "Gemeinsamer Termin", _("Gemeinsamer Termin")
    REGISTER = "Registrierung", _("Registrierung")
    OTHER = "Sonstiges", _("Sonstiges")


def autofocus_first(form: forms.Form) -> None:
    """The first field that is typed into gets the focus (radios: their first input)."""
    for field in form.fields.values():
        if not isinstance(field.widget, forms.RadioSelect | forms.HiddenInput):
            field.widget.attrs["autofocus"] = True
            return


class FindRegistrationForm(KernForm):
    """R20: a registration is found by Vorgangskennung AND date of birth, nothing else
    (no name, no phone number)."""

    vorgangskennung = forms.CharField(
        label=_("Vorgangskennung"),
        max_length=40,
        help_text=_("12 Zeichen, mit oder ohne Bindestriche."),
        error_messages={"required": _("Bitte geben Sie die Vorgangskennung ein.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "size": "16"}),
    )
    birth_date = GermanDateField(
        label=_("Geburtsdatum"),
        help_text=_("Zum Beispiel 31.01.1950."),
        error_messages={"required": _("Bitte geben Sie das Geburtsdatum an.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": "10"}),
    )
    reason = forms.ChoiceField(
        label=_("Anlass des Anrufs"),
        choices=CallReason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Bitte wählen Sie den Anlass des Anrufs."),
            "invalid_choice": _("Bitte wählen Sie den Anlass des Anrufs."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autofocus_first(self)


class CoupleForm(KernForm):
    """R19: the partner is proven by their Vorgangskennung and date of birth."""

    partner_vorgangskennung = forms.CharField(
        label=_("Vorgangskennung der zweiten Person"),
        max_length=40,
        error_messages={"required": _("Bitte geben Sie die Vorgangskennung ein.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "size": "16"}),
    )
    partner_birth_date = GermanDateField(
        label=_("Geburtsdatum der zweiten Person"),
        help_text=_("Zum Beispiel 31.01.1950."),
        error_messages={"required": _("Bitte geben Sie das Geburtsdatum an.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": "10"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autofocus_first(self)


class PhoneStartForm(StartForm):
    """Postcode and date of birth of the caller (or the person they call for)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autofocus_first(self)


class PhoneRegistrationForm(RegistrationForm):
    """The citizen's registration form without a password (R21: phone registrations have
    no log-in), with the language of the letters and e-mails."""

    password = None
    password_again = None
    proof_of_work = False  # an agent fills it in
    language = forms.ChoiceField(
        label=pgettext_lazy("label", "Sprache der Briefe und E-Mails"),
        choices=settings.LANGUAGES,
        initial="de",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = _(
            "Freiwillig. Ohne E-Mail-Adresse kommen die Termine per Brief an die Anschrift."
        )
        self.fields["for_someone_else"].label = _(
            "Der Anrufer registriert eine andere Person (z. B. ein Elternteil)."
        )
        autofocus_first(self)


class CallStatisticsForm(KernForm):
    """The day (default today) and, optionally, one agent."""

    tag = GermanDateField(
        label=pgettext_lazy("label", "Tag"),
        required=False,
        help_text=_("Zum Beispiel 31.01.2021. Leer: heute."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": "10", "autofocus": True}),
    )
    agent = forms.ChoiceField(label=_("Mitarbeiterin oder Mitarbeiter"), required=False)

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", _("Alle")), *((a.pk, a.username) for a in agents)]
