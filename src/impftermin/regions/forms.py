from django import forms
from django.utils.translation import gettext_lazy as _

from impftermin.core.forms import KernForm


class DistrictForm(KernForm):
    district = forms.TypedChoiceField(
        label=_("In welchem Kreis wohnen Sie?"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Bitte wählen Sie Ihren Kreis."),
            "invalid_choice": _("Bitte wählen Sie Ihren Kreis."),
        },
    )

    def __init__(self, *args, districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [(d.pk, d.name) for d in districts]
