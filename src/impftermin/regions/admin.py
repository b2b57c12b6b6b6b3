from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from impftermin.booking import services as booking_services
from impftermin.core.errors import ServiceError
from impftermin.regions.models import District, Postcode, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "booking_mode", "bundesland", "hotline", "district_count"]
    list_filter = ["booking_mode", "bundesland"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["release_slots"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "booking_mode", "bundesland"]}),
        (_("Hotline"), {"fields": ["hotline", "hotline_abroad", "hotline_hours"]}),
        (
            _("Regeln"),
            {
                "fields": [
                    "pins_per_mobile_per_day",
                    "pin_validity_minutes",
                    "rebook_cutoff_days",
                    "short_notice_days",
                    "release_days_ahead",
                    "no_show_grace_days",
                    "cap_by_allocation",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_district_count=Count("districts"))

    @admin.display(description=_("Kreise"), ordering="_district_count")
    def district_count(self, region: Region) -> int:
        return region._district_count

    def has_release_slots_permission(self, request) -> bool:
        # Releasing changes which slots citizens can book: a slot permission, not a region one.
        return request.user.has_perm("booking.change_slot")

    @admin.action(description=_("Termine jetzt freigeben"), permissions=["release_slots"])
    def release_slots(self, request, queryset):
        released = 0
        for region in queryset:
            try:
                released += booking_services.slots_release(region_id=region.pk)
            except ServiceError as error:
                self.message_user(request, f"{region}: {error.message}", messages.ERROR)
        self.message_user(
            request,
            ngettext(
                "%(count)d Zeitfenster wurde zur Buchung freigegeben.",
                "%(count)d Zeitfenster wurden zur Buchung freigegeben.",
                released,
            )
            % {"count": released},
            messages.SUCCESS,
        )


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["ags", "name", "kind", "population", "region"]
    list_filter = ["region", "kind"]
    search_fields = ["name", "ags"]
    list_select_related = ["region"]
    ordering = ["ags"]


@admin.register(Postcode)
class PostcodeAdmin(admin.ModelAdmin):
    list_display = ["code", "district_names"]
    list_filter = ["districts__region"]
    search_fields = ["code"]
    autocomplete_fields = ["districts"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("districts")

    @admin.display(description=_("Kreise"))
    def district_names(self, postcode: Postcode) -> str:
        return ", ".join(district.name for district in postcode.districts.all())
