"""Second factors in the admin: who has one, when it was last used, how many wrong codes in
a row. Never the key (not shown, not changeable); no adding (staff set up their own app).
The action "reset" deletes devices: at the next log-in their staff member sets up a new
app (a lost or new phone). Replaces django-otp's own TOTPDevice admin, which can show and edit keys."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from impftermin.core.admin import ReadOnlyAdminMixin
from impftermin.staff.services import totp_devices_reset

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at", "failures"]
    list_filter = ["confirmed"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = readonly_fields = [
        "user",
        "name",
        "confirmed",
        "created_at",
        "last_used_at",
        "throttling_failure_count",
        "throttling_failure_timestamp",
    ]

    @admin.display(description=_("Falsche Codes in Folge"), ordering="throttling_failure_count")
    def failures(self, device: TOTPDevice) -> int:
        return device.throttling_failure_count

    actions = ["reset"]

    def has_reset_permission(self, request) -> bool:
        return request.user.has_perm("otp_totp.delete_totpdevice")

    @admin.action(description=_("Zurücksetzen (neu einrichten lassen)"), permissions=["reset"])
    def reset(self, request, queryset):
        devices = list(queryset)
        self.log_deletions(request, devices)
        count = totp_devices_reset(device_ids=[device.pk for device in devices])
        self.message_user(
            request,
            ngettext(
                "%(count)d zweiter Faktor zurückgesetzt: bei der nächsten Anmeldung wird er neu eingerichtet.",
                "%(count)d zweite Faktoren zurückgesetzt: bei der nächsten Anmeldung werden sie neu eingerichtet.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
