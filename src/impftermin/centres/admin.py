import datetime as dt
import itertools

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from impftermin.booking import services as booking_services
from impftermin.centres.models import Centre, CentreCapacity, OpeningHours
from impftermin.core.errors import ServiceError

GENERATE_DAYS = 56  # "die nächsten 8 Wochen": today and the 55 days after it


class OpeningHoursFormSet(forms.BaseInlineFormSet):
    """Periods of one weekday must not overlap (the rule `opening_hours_set` enforces)."""

    def clean(self):
        super().clean()
        periods: dict[int, list[tuple[dt.time, dt.time]]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            weekday, opens, closes = data.get("weekday"), data.get("opens"), data.get("closes")
            if weekday is None or opens is None or closes is None:
                continue
            periods.setdefault(weekday, []).append((opens, closes))
        for day_periods in periods.values():
            for (_o1, c1), (o2, _c2) in itertools.pairwise(sorted(day_periods)):
                if o2 < c1:
                    raise forms.ValidationError(_("Die Öffnungszeiten überschneiden sich."))


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    formset = OpeningHoursFormSet
    fields = ["weekday", "opens", "closes"]
    extra = 0


class CentreCapacityInline(admin.TabularInline):
    model = CentreCapacity
    fields = ["vaccine", "slot_minutes", "seats_per_slot"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("vaccine")


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ["name", "district", "city", "open_on_public_holidays", "active"]
    list_filter = ["district__region", "active"]
    search_fields = ["name", "city"]
    list_select_related = ["district"]
    autocomplete_fields = ["district"]
    inlines = [OpeningHoursInline, CentreCapacityInline]
    actions = ["generate_slots"]
    filter_horizontal = ["staff"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "staff":  # only staff accounts can work at a centre
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_generate_slots_permission(self, request) -> bool:
        return request.user.has_perm("booking.add_slot")

    @admin.action(
        description=_("Zeitfenster für die nächsten 8 Wochen anlegen"),
        permissions=["generate_slots"],
    )
    def generate_slots(self, request, queryset):
        today = timezone.localdate()
        created = 0
        for centre in queryset:
            try:
                created += booking_services.slots_generate(
                    centre_id=centre.pk,
                    date_from=today,
                    date_to=today + dt.timedelta(days=GENERATE_DAYS - 1),
                )
            except ServiceError as error:
                self.message_user(request, f"{centre}: {error.message}", messages.ERROR)
        self.message_user(
            request,
            ngettext(
                "%(count)d Zeitfenster wurde angelegt.",
                "%(count)d Zeitfenster wurden angelegt.",
                created,
            )
            % {"count": created},
            messages.SUCCESS,
        )
