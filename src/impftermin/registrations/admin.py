"""Operators decide on registrations the population register did not confirm (R14):
confirmed, they join the pool; refused, they are deleted and their personal data erased.
Everything else about a registration is written by the services alone."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from impftermin.core.errors import ServiceError
from impftermin.registrations.models import Registration, RegistrationStatus
from impftermin.registrations.services import registration_review_decide


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["vorgangskennung", "status", "review_reason", "centre", "created_at"]
    list_filter = ["status", "region", "channel"]
    list_select_related = ["centre"]
    search_fields = ["=vorgangskennung"]  # by the id only: no search by name (R4, R20)
    fields = readonly_fields = [
        "vorgangskennung",
        "status",
        "review_reason",
        "region",
        "district",
        "centre",
        "vaccine",
        "single_dose",
        "first_name",
        "last_name",
        "birth_date",
        "street",
        "postcode",
        "city",
        "residence",
        "channel",
        "created_at",
    ]
    actions = ["confirm", "refuse"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, *, confirm: bool) -> None:
        decided = 0
        for pk in queryset.filter(status=RegistrationStatus.REVIEW).values_list("pk", flat=True):
            try:
                registration_review_decide(registration_id=pk, confirm=confirm)
                decided += 1
            except ServiceError as error:
                self.message_user(request, f"#{pk}: {error.message}", messages.WARNING)
        self.message_user(
            request,
            ngettext(
                "%(count)d Registrierung entschieden.",
                "%(count)d Registrierungen entschieden.",
                decided,
            )
            % {"count": decided},
            messages.SUCCESS,
        )

    @admin.action(description=_("Prüfung bestanden: in den Pool aufnehmen"), permissions=["change"])
    def confirm(self, request, queryset):
        self._decide(request, queryset, confirm=True)

    @admin.action(
        description=_("Abgelehnt: löschen und persönliche Daten entfernen"),
        permissions=["change"],
    )
    def refuse(self, request, queryset):
        self._decide(request, queryset, confirm=False)
