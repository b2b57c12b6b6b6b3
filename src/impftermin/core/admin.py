"""The operator back office: site titles and the helpers the apps' admins share.

Admin pages may edit plain master data directly; everything that changes booking state
goes through a service. `ServiceAddForm` lets an admin add form create its object through
a service, with the service's errors shown on the form like any other validation error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from impftermin.core.errors import ServiceError

admin.site.site_header = _("Impftermin – Verwaltung")  # noqa: RUF001
admin.site.site_title = _("Impftermin – Verwaltung")  # noqa: RUF001
admin.site.index_title = _("Stammdaten, Zeitfenster und Buchungen")


def add_service_error(form: forms.BaseForm, error: ServiceError) -> None:
    """Show a service's error at the form field it names, or above the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class ServiceAddForm(forms.ModelForm):
    """An add form whose object is created by a service, not by `form.save()`.

    Django first validates the fields and the model as usual; when all is well,
    `create()` calls the service inside a savepoint. A ServiceError becomes a form error
    and leaves nothing behind, and so does a lost race (IntegrityError); on success the form's instance is the created object, so
    that the admin logs and links to it. The ModelAdmin must not save it again (see
    `ServiceAddAdminMixin`).
    """

    def create(self, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors or self.instance.pk is not None:
            return
        try:
            with transaction.atomic():
                self.instance = self.create(self.cleaned_data)
        except ServiceError as error:
            add_service_error(self, error)
        except IntegrityError:
            # A concurrent change won the race for the same row (a unique key, say).
            self.add_error(
                None,
                _(
                    "Jemand hat gleichzeitig dasselbe geändert. Bitte prüfen und noch einmal speichern."
                ),
            )


class ServiceAddAdminMixin:
    """For ModelAdmins whose add form is a ServiceAddForm: the service has saved already."""

    def save_model(self, request, obj, form, change):
        if not change:
            return  # created by the service in ServiceAddForm
        super().save_model(request, obj, form, change)


class ReadOnlyAdminMixin:
    """Rows shown for reference only: what services wrote is not edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
