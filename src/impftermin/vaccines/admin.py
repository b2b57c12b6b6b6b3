from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from impftermin.core.admin import ReadOnlyTabularInline, ServiceAddAdminMixin, ServiceAddForm
from impftermin.vaccines import services
from impftermin.vaccines.models import Delivery, DistrictAllocation, Vaccine


@admin.register(Vaccine)
class VaccineAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "doses",
        "min_interval_days",
        "max_interval_days",
        "min_age",
        "active",
    ]
    list_filter = ["active", "doses"]
    search_fields = ["code", "name"]


class DeliveryAddForm(ServiceAddForm):
    """Records a delivery through `delivery_record`, which also allocates it (R9)."""

    doses = forms.IntegerField(label=_("Impfdosen"), min_value=1)

    class Meta:
        model = Delivery
        fields = ["region", "vaccine", "doses", "delivered_on"]

    def create(self, data):
        return services.delivery_record(
            region_id=data["region"].pk,
            vaccine_id=data["vaccine"].pk,
            doses=data["doses"],
            delivered_on=data["delivered_on"],
        )


class DistrictAllocationInline(ReadOnlyTabularInline):
    model = DistrictAllocation
    fields = ["district", "doses"]
    readonly_fields = ["district", "doses"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("district")


@admin.register(Delivery)
class DeliveryAdmin(ServiceAddAdminMixin, admin.ModelAdmin):
    """Deliveries are added through the service and never changed afterwards: the
    allocation to the districts was computed from these figures."""

    form = DeliveryAddForm
    list_display = ["delivered_on", "region", "vaccine", "doses", "created_at"]
    list_filter = ["region", "vaccine", "delivered_on"]
    list_select_related = ["region", "vaccine"]
    date_hierarchy = "delivered_on"
    fields = ["region", "vaccine", "doses", "delivered_on"]

    def get_fields(self, request, obj=None):
        return self.fields if obj is None else [*self.fields, "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["created_at"]

    def get_inlines(self, request, obj):
        return [] if obj is None else [DistrictAllocationInline]

    def has_change_permission(self, request, obj=None):
        return False
