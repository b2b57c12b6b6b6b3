from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from impftermin.audit.admin import AuditedAdminMixin
from impftermin.audit.models import AuditSubject
from impftermin.core.errors import ServiceError
from impftermin.notifications.models import OutboundMessage
from impftermin.notifications.services import message_retry_now


@admin.register(OutboundMessage)
class OutboundMessageAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Read-only: operators see what went out, what waits and what failed, and may ask
    for another try. Texts hold secrets (PINs, booking codes, links) and personal data:
    neither the text nor the attachment is shown, only the delivery facts. A message's
    page shows its recipient: opening it is audited."""

    audit_what = AuditSubject.OUTBOUND_MESSAGE

    list_display = [
        "created_at",
        "channel",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "kind"]
    fields = readonly_fields = [
        "channel",
        "kind",
        "recipient",
        "subject",
        "attachment_name",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    ]
    actions = ["retry_now"]
    show_full_result_count = False

    @admin.action(description=_("Jetzt noch einmal senden"), permissions=["change"])
    def retry_now(self, request, queryset):
        queued = 0
        for message_id in queryset.values_list("pk", flat=True):
            try:
                message_retry_now(message_id=message_id)
                queued += 1
            except ServiceError as error:
                self.message_user(request, f"#{message_id}: {error.message}", messages.WARNING)
        if queued:
            self.message_user(
                request,
                ngettext(
                    "%(count)d Nachricht wird erneut gesendet.",
                    "%(count)d Nachrichten werden erneut gesendet.",
                    queued,
                )
                % {"count": queued},
                messages.SUCCESS,
            )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
