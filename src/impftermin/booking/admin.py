"""Slots and appointment pairs in the back office.

`Slot.booked` and the pairs belong to the booking services: the admin never writes them.
Slots are added through `slot_create` (or generated from a centre's opening hours); an
operator may change a slot's capacity and whether it is released, never below the seats
already booked. Pairs are read-only and can only be cancelled, through `pair_cancel`.
Nothing here can be deleted: a deleted slot or appointment would leave the booked counts
wrong.
"""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from impftermin.booking import services
from impftermin.booking.availability import availability_changed_everywhere
from impftermin.booking.models import Appointment, AppointmentPair, Slot
from impftermin.booking.selectors import day_start
from impftermin.core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, ServiceAddForm
from impftermin.core.errors import ServiceError

SLOT_EDITABLE_FIELDS = ["capacity", "released"]


class SlotAddForm(ServiceAddForm):
    class Meta:
        model = Slot
        fields = ["centre", "vaccine", "start", "capacity", "released"]

    def create(self, data):
        return services.slot_create(
            centre_id=data["centre"].pk,
            vaccine_id=data["vaccine"].pk,
            start=data["start"],
            capacity=data["capacity"],
            released=data["released"],
        )


class SlotChangeForm(forms.ModelForm):
    """Capacity and release only. The capacity may not drop below the seats booked: the
    slot row is locked while the form is checked and saved (the admin runs both in one
    transaction), so no booking can slip in between."""

    class Meta:
        model = Slot
        fields = SLOT_EDITABLE_FIELDS

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if capacity is None:
            return capacity
        booked = self._current_booked()
        if capacity < booked:
            raise forms.ValidationError(
                ngettext(
                    "Es ist schon %(booked)d Platz gebucht; die Kapazität kann nicht darunter sinken.",
                    "Es sind schon %(booked)d Plätze gebucht; die Kapazität kann nicht darunter sinken.",
                    booked,
                )
                % {"booked": booked},
                code="below_booked",
            )
        return capacity

    def _current_booked(self) -> int:
        slots = Slot.objects.filter(pk=self.instance.pk)
        if transaction.get_connection().in_atomic_block:
            slots = slots.select_for_update()
        booked = slots.values_list("booked", flat=True).first()
        return self.instance.booked if booked is None else booked


class UpcomingFilter(admin.SimpleListFilter):
    """Slots by day from today on: a range on the indexed start column. (A date hierarchy
    would scan every slot for its distinct years and months on each page view.)"""

    title = _("Zeitraum")
    parameter_name = "upcoming"
    CHOICES = {"today": 0, "tomorrow": 1, "7": 7, "28": 28}

    def lookups(self, request, model_admin):
        return [
            ("today", _("heute")),
            ("tomorrow", _("morgen")),
            ("7", _("nächste 7 Tage")),
            ("28", _("nächste 28 Tage")),
        ]

    def queryset(self, request, queryset):
        if self.value() not in self.CHOICES:
            return queryset
        today = timezone.localdate()
        days = self.CHOICES[self.value()]
        first = today + dt.timedelta(days=1) if self.value() == "tomorrow" else today
        last = first if self.value() in ("today", "tomorrow") else today + dt.timedelta(days=days)
        return queryset.filter(
            start__gte=day_start(first), start__lt=day_start(last + dt.timedelta(days=1))
        )


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ["start", "centre", "vaccine", "capacity", "booked", "free", "released"]
    list_filter = [UpcomingFilter, "released", "vaccine", "centre__district__region"]
    search_fields = ["centre__name"]
    list_select_related = ["centre", "vaccine"]
    autocomplete_fields = ["centre"]
    show_full_result_count = False  # no second COUNT(*) over every slot on filtered pages
    list_per_page = 100

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "capacity":
            kwargs.setdefault("min_value", 1)  # the CHECK constraint, as a field error
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SlotChangeForm if obj is not None else SlotAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["centre", "vaccine", "start", "capacity", "released"]
        return ["centre", "vaccine", "start", "capacity", "booked", "free", "released"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Moving a slot would move the appointments booked in it.
        return ["centre", "vaccine", "start", "booked", "free"]

    @admin.display(description=_("frei"))
    def free(self, slot: Slot) -> int:
        return slot.free

    def save_model(self, request, obj, form, change):
        if not change:
            return  # slot_create has saved it
        # Write only what the form changed: `booked` as loaded may be stale by now.
        changed = [name for name in SLOT_EDITABLE_FIELDS if name in form.changed_data]
        if changed:
            obj.save(update_fields=changed)
            availability_changed_everywhere()  # capacity or release: the lists show it

    def has_delete_permission(self, request, obj=None):
        return False


class AppointmentInline(ReadOnlyTabularInline):
    model = Appointment
    fields = ["dose", "slot", "slot_start", "status"]
    readonly_fields = ["dose", "slot", "slot_start", "status"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("slot__centre", "slot__vaccine")

    @admin.display(description=_("Beginn"))
    def slot_start(self, appointment: Appointment) -> str:
        # Local time, in the reader's language.
        return date_format(timezone.localtime(appointment.slot.start), "SHORT_DATETIME_FORMAT")


@admin.register(AppointmentPair)
class AppointmentPairAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only. `holder` is a keyed reference to a code or a registration: never shown."""

    list_display = [
        "id",
        "status",
        "vaccine",
        "centre",
        "channel",
        "created_at",
        "second_dose_at_centre",
    ]
    # A date filter, not a date hierarchy: the hierarchy scans every pair on each view.
    list_filter = ["status", "channel", "vaccine", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["vaccine", "centre"]
    show_full_result_count = False
    fields = [
        "status",
        "vaccine",
        "centre",
        "channel",
        "second_dose_at_centre",
        "party",
        "replaced_by",
        "created_at",
        "cancelled_at",
    ]
    inlines = [AppointmentInline]
    actions = ["cancel_pairs"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("vaccine", "centre", "replaced_by")

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("booking.change_appointmentpair")

    @admin.action(description=_("Stornieren"), permissions=["cancel"])
    def cancel_pairs(self, request, queryset):
        cancelled = 0
        for pair in queryset.order_by("pk"):
            try:
                services.pair_cancel(pair_id=pair.pk, holder=pair.holder)
            except ServiceError as error:
                self.message_user(
                    request,
                    gettext("Terminpaar #%(id)d: %(message)s")
                    % {"id": pair.pk, "message": error.message},
                    messages.ERROR,
                )
                continue
            cancelled += 1
            self.log_change(request, pair, gettext("Im Backoffice storniert."))
        if cancelled:
            self.message_user(
                request,
                ngettext(
                    "%(count)d Terminpaar wurde storniert; die Plätze sind wieder frei.",
                    "%(count)d Terminpaare wurden storniert; die Plätze sind wieder frei.",
                    cancelled,
                )
                % {"count": cancelled},
                messages.SUCCESS,
            )
