"""Forms shown with KERN UX markup (templates core/includes/*.html). A form checks the
shape of the input; the domain checks stay in the services, whose ServiceErrors are shown
on the field they name. Every error is listed in a summary that links to its field."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError


class KernForm(forms.Form):
    error_css_class = "kern-form-input--error"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.style_field(name)

    def style_field(self, name: str) -> None:
        """KERN's input class and the hint's id; call it for fields added later, too."""
        field = self.fields[name]
        if isinstance(field.widget, forms.RadioSelect):
            return  # rendered by core/includes/radios.html
        if isinstance(field.widget, forms.CheckboxInput):
            field.widget.attrs.setdefault("class", "kern-form-check__checkbox")
            if field.help_text:
                self._describe(name, f"{self[name].auto_id}-hint")
            return  # rendered by core/includes/checkbox.html
        field.widget.attrs.setdefault("class", "kern-form-input__input")
        if field.help_text:
            self._describe(name, f"{self[name].auto_id}-hint")

    def _describe(self, name: str, element_id: str) -> None:
        attrs = self.fields[name].widget.attrs
        ids = attrs.get("aria-describedby", "").split()
        if element_id not in ids:
            attrs["aria-describedby"] = " ".join([*ids, element_id])

    def add_error(self, field, error):
        super().add_error(field, error)
        names = [field] if field else []
        if field is None and hasattr(error, "error_dict"):
            names = list(error.error_dict)
        for name in names:
            if name in self.fields and not isinstance(self.fields[name].widget, forms.RadioSelect):
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["class"] = "kern-form-input__input kern-form-input__input--error"
                self._describe(name, f"{self[name].auto_id}-error")

    def add_service_error(self, error: ServiceError) -> None:
        """Show a service's refusal on the field it names (else above the form)."""
        field = error.field if error.field in self.fields else None
        self.add_error(field, str(error.message))

    def error_summary(self) -> list[dict]:
        """Every error, each with the link to its field (WCAG 3.3.1)."""
        entries = []
        for name, errors in self.errors.items():
            href = None
            if name in self.fields:
                bound = self[name]
                is_radio = isinstance(self.fields[name].widget, forms.RadioSelect)
                href = f"#{bound.auto_id}_0" if is_radio else f"#{bound.id_for_label}"
            entries.extend({"href": href, "message": message} for message in errors)
        return entries


class GermanDateField(forms.DateField):
    """A date typed as 31.12.1950 (also 31.12.50 is refused: four-digit years only)."""

    input_formats = ["%d.%m.%Y", "%Y-%m-%d"]
    default_error_messages = {
        "invalid": _("Bitte geben Sie das Datum als TT.MM.JJJJ an, z. B. 31.01.1950."),
    }
