"""For staff pages outside the admin (the call-center console, centre pages): the same
rule as the admin site (sites.py): logged in, active, staff, and a verified second factor;
optionally a permission. Never cached."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.views.decorators.cache import never_cache

from impftermin.staff import selectors
from impftermin.staff.redirects import log_in_redirect, second_factor_redirect


def staff_required(view=None, *, permission: str | None = None):
    """@staff_required or @staff_required(permission="staff.use_console")."""

    def decorator(view_func):
        @never_cache
        @wraps(view_func)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not selectors.is_staff_member(user):
                return log_in_redirect(request)
            if not selectors.is_verified(user):
                return second_factor_redirect(request, request.get_full_path())
            if permission is not None and not user.has_perm(permission):
                raise PermissionDenied
            return view_func(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view is not None else decorator
