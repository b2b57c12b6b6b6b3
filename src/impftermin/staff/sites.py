"""The admin site (`admin.site`, installed by apps.StaffAdminConfig): Django's, except that
a staff member counts as logged in only with a verified second factor.

`has_permission` is what every admin page (admin_view) asks; with a password alone it is
False, so every admin URL sends the browser to the log-in, and the log-in sends a staff
member who has given the password on to the code (or to setting up the app) instead of
showing the password form again. The password form is Django's, throttled (forms.StaffLogInForm).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from impftermin.staff import selectors
from impftermin.staff.forms import StaffLogInForm
from impftermin.staff.redirects import second_factor_redirect


class StaffAdminSite(admin.AdminSite):
    login_form = StaffLogInForm

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and selectors.is_verified(request.user)

    @method_decorator(never_cache)
    @method_decorator(login_not_required)
    def login(self, request, extra_context=None):
        if request.method == "GET" and selectors.needs_second_factor(request.user):
            return second_factor_redirect(request, request.GET.get("next"))
        response = super().login(request, extra_context)
        # The password was right: on to the code, with where the member was going.
        if (
            request.method == "POST"
            and response.status_code == 302
            and selectors.needs_second_factor(request.user)
        ):
            return second_factor_redirect(request, request.POST.get("next"))
        return response
