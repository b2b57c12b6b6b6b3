"""Operators decide on registrations the population register did not confirm (R14):
confirmed, they join the pool; refused, they are deleted and their personal data erased.
Everything else about a registration is written by the services alone. The daily print
batches of letters (R17) are downloaded here; letters are listed without personal data.
Opening a registration, searching for one, deciding on one and downloading a print batch
are recorded in the audit log."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from impftermin.audit.admin import AuditedAdminMixin
from impftermin.audit.models import AuditAction, AuditSubject
from impftermin.audit.services import audit_record
from impftermin.core.admin import ReadOnlyAdminMixin
from impftermin.core.errors import ServiceError
from impftermin.registrations.letters import print_batch_downloaded
from impftermin.registrations.models import (
    Letter,
    PrintBatch,
    Registration,
    RegistrationStatus,
)
from impftermin.registrations.services import registration_review_decide


@admin.register(Registration)
class RegistrationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_what = AuditSubject.REGISTRATION
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
        detail = "review confirmed" if confirm else "review refused, personal data erased"
        for pk in queryset.filter(status=RegistrationStatus.REVIEW).values_list("pk", flat=True):
            try:
                # The decision and its audit entry commit together, or neither does.
                with transaction.atomic():
                    registration_review_decide(registration_id=pk, confirm=confirm)
                    self.audit(request, AuditAction.CHANGE, pk, detail=detail)
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


@admin.register(PrintBatch)
class PrintBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "letter_count", "created_at", "downloaded_at", "download"]
    date_hierarchy = "day"
    fields = readonly_fields = ["day", "letter_count", "created_at", "downloaded_at", "download"]

    def get_urls(self):
        return [
            path(
                "<path:object_id>/pdf/",
                self.admin_site.admin_view(self.download_view),
                name="registrations_printbatch_pdf",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("PDF"))
    def download(self, obj: PrintBatch) -> str:
        if not obj.pdf:
            return _("gelöscht")
        url = reverse(f"{self.admin_site.name}:registrations_printbatch_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("herunterladen"))

    def download_view(self, request, object_id: str) -> HttpResponse:
        """The batch's PDF as a file: only for staff who may see print batches (the
        letters hold names and addresses). The download is recorded, and audited."""
        if not request.user.has_perm("registrations.view_printbatch"):
            raise PermissionDenied
        try:
            batch = print_batch_downloaded(batch_id=object_id)
        except ServiceError:
            raise Http404 from None
        if not batch.pdf:
            raise Http404  # erased after its retention period
        audit_record(
            user=request.user,
            action=AuditAction.EXPORT,
            what=AuditSubject.PRINT_BATCH,
            which=batch.pk,
            detail="pdf",
        )
        response = HttpResponse(bytes(batch.pdf), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="briefe-{batch.day.isoformat()}.pdf"'
        )
        response["Cache-Control"] = "no-store"
        return response


@admin.register(Letter)
class LetterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # No names or addresses: who a letter went to is seen in the registration itself.
    list_display = ["reason", "issued_on", "batch", "created_at"]
    list_filter = ["reason", "issued_on"]
    list_select_related = ["batch"]
    fields = readonly_fields = ["registration", "reason", "issued_on", "batch", "created_at"]
    show_full_result_count = False
