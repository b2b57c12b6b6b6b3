"""The audit log in the back office (read only, for staff with `audit.view_auditentry`),
and the mixin that audits the back-office pages showing personal data."""

from __future__ import annotations

from django.contrib import admin

from impftermin.audit.models import AuditAction, AuditEntry
from impftermin.audit.services import audit_record
from impftermin.core.admin import ReadOnlyAdminMixin


class AuditedAdminMixin:
    """For ModelAdmins whose pages show personal data: opening an object's page is
    recorded as a view, and a list shown for a search term as a lookup (the term itself
    is not stored: it may be personal data). `audit_what` is the AuditSubject.

    Admin actions that change objects record their changes themselves with `audit()`,
    inside the transaction of the change. The entry is written before the page is sent:
    when it cannot be written, the page is not shown.
    """

    audit_what: str = ""

    def audit(self, request, action: str, which: int | str = "", *, detail: str = ""):
        return audit_record(
            user=request.user, action=action, what=self.audit_what, which=which, detail=detail
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        # A missing object or a refused permission never reaches a rendered page.
        shown = getattr(response, "context_data", None) or {}
        obj = shown.get("original")
        if response.status_code == 200 and obj is not None:
            self.audit(request, AuditAction.VIEW, obj.pk)
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if (
            response.status_code == 200
            and changelist is not None
            and changelist.query
            and self.get_search_fields(request)
        ):
            # Evaluated here, the page then renders the same cached rows.
            hits = list(changelist.result_list)
            which = hits[0].pk if len(hits) == 1 else ""
            self.audit(request, AuditAction.LOOKUP, which, detail="search")
        return response


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Nobody adds, changes or deletes entries here, superusers included."""

    list_display = ["at", "username", "action", "what", "which", "why", "detail"]
    list_filter = ["action", "what"]
    date_hierarchy = "at"
    search_fields = ["username", "=which"]
    fields = readonly_fields = [
        "at",
        "user",
        "username",
        "action",
        "what",
        "which",
        "why",
        "detail",
    ]
    show_full_result_count = False
