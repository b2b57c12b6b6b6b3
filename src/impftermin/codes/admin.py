"""Operators see the standby list (R8): queue per district and vaccine, offers and their
state. Read only: entries and offers are written by the standby services alone. No
personal data is shown (the person is only their code set's number)."""

from django.contrib import admin

from impftermin.codes.models import StandbyEntry, StandbyOffer
from impftermin.core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline


class StandbyOfferInline(ReadOnlyTabularInline):
    model = StandbyOffer
    fields = ("first_slot", "second_slot", "status", "expires_at", "created_at")
    readonly_fields = fields


@admin.register(StandbyEntry)
class StandbyEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "district", "vaccine", "status", "offers_made", "created_at")
    list_filter = ("status", "district__region", "vaccine")
    list_select_related = ("district", "vaccine")
    fields = ("code_set", "district", "vaccine", "status", "offers_made", "created_at")
    readonly_fields = fields
    inlines = [StandbyOfferInline]
