import re

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError
from impftermin.core.forms import KernForm
from impftermin.core.throttle import client_key
from impftermin.staff import services

CODE_SHAPE = _("Bitte geben Sie die 6 Ziffern aus Ihrer Authenticator-App ein.")


class CodeForm(KernForm):
    """The 6-digit code of the authenticator app (spaces allowed, as some apps show
    "123 456"). Only its shape is checked here; the code itself by the service."""

    code = forms.CharField(
        label=_("Code aus der Authenticator-App"),
        max_length=20,
        help_text=_("6 Ziffern; ein Code gilt 30 Sekunden und nur einmal."),
        error_messages={"required": CODE_SHAPE},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "size": "8",
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not re.fullmatch(r"[0-9]{6}", code):
            raise forms.ValidationError(CODE_SHAPE)
        return code


class StaffLogInForm(AdminAuthenticationForm):
    """Django's admin log-in, throttled per account and per client: each attempt counts
    before the password is checked; the right password gives its attempt back."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()  # Django's "required" messages; no password checked
        client = client_key(self.request)
        try:
            services.password_log_in_attempt(username=username, client=client)
        except ServiceError as error:
            raise ValidationError(error.message, code=error.code) from None
        cleaned = super().clean()
        services.password_log_in_succeeded(username=username, client=client)
        return cleaned
