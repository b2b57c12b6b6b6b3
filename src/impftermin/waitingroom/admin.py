"""Operators switch a region's waiting room on, off or to automatic, set its admission
rate, and see how many wait and for how long."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from impftermin.waitingroom.models import WaitingRoom
from impftermin.waitingroom.services import room_figures, room_settings_changed


@admin.register(WaitingRoom)
class WaitingRoomAdmin(admin.ModelAdmin):
    list_display = [
        "region",
        "mode",
        "admissions_per_second",
        "is_active",
        "waiting",
        "wait_minutes",
    ]
    fields = [
        "region",
        "mode",
        "admissions_per_second",
        "auto_arrivals_per_second",
        "admission_minutes",
        "crowded_until",
    ]
    readonly_fields = ["crowded_until"]

    @staticmethod
    def _figures(room):
        """Read the queue once per row, not once per column."""
        if not hasattr(room, "_figures"):
            room._figures = room_figures(room)
        return room._figures

    @admin.display(description=_("jetzt an"), boolean=True)
    def is_active(self, room):
        return self._figures(room).active

    @admin.display(description=_("Wartende"))
    def waiting(self, room):
        return self._figures(room).waiting

    @admin.display(description=_("Wartezeit der Letzten (Minuten)"))
    def wait_minutes(self, room):
        return self._figures(room).wait_minutes

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        room_settings_changed(obj.region_id)
