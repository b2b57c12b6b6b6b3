"""Operators read the vaccination record in the back office; nobody edits it there (it is
written at the check-in desk, through the service)."""

from django.contrib import admin

from impftermin.vaccinations.models import Vaccination


@admin.register(Vaccination)
class VaccinationAdmin(admin.ModelAdmin):
    list_display = ["vaccinated_at", "centre", "vaccine", "dose", "batch_number"]
    list_filter = ["centre", "vaccine", "dose"]
    date_hierarchy = "vaccinated_at"
    list_select_related = ["centre", "vaccine"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
