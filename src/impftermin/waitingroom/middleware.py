"""The gate in front of the booking pages (codes and registration flows, the account) and
the 2021 protocol: when the visitor's region has its waiting room on, a visitor without
a valid admission gets a ticket and the waiting page until the ticket's turn comes; then
the request goes through and the admission is handed out with it. Staff pass, and the
partners' API (/api/v1/, with keys) is not behind it. Links from mails (e-mail
confirmation, standby offers, password reset) pass too: they hold a deadline."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from impftermin.core.flow import recall
from impftermin.regions.models import District, Region
from impftermin.waitingroom import services
from impftermin.waitingroom.views import MANUAL_COOKIE

GATED = {"codes", "registrations", "its"}
PASSING = {
    "codes:confirm_email",
    "codes:standby_offer",
    "registrations:password_reset",
    "its:centres",
}
REFRESH_SECONDS = 20
LONG_WAIT_REFRESH_SECONDS = 60  # a wait of minutes is looked at less often


def refresh_seconds(wait_seconds: int) -> int:
    """How soon the page looks again: every REFRESH_SECONDS near the turn, a third of the
    wait (at most a minute) while it is long, so that a long queue does not multiply the
    requests it was put up against."""
    return max(REFRESH_SECONDS, min(LONG_WAIT_REFRESH_SECONDS, wait_seconds // 3))


REGION_SECONDS = 300  # districts do not change regions, slugs rarely


def _cached(name: str, queryset, field: str = "region_id") -> int | None:
    """A region id by AGS or slug, read from the database at most every REGION_SECONDS:
    the gate runs on every request of the booking pages."""
    found = cache.get_or_set(
        f"waiting-room-region:{name}",
        lambda: queryset.values_list(field, flat=True).first() or 0,
        REGION_SECONDS,
    )
    return found or None


def _region(region_id: int) -> Region:
    """The waiting page's region (name, hotline), read from the database at most every
    REGION_SECONDS: every waiting visitor's poll shows it."""
    return cache.get_or_set(
        f"waiting-room-region-row:{region_id}",
        lambda: Region.objects.get(pk=region_id),
        REGION_SECONDS,
    )


def region_of(request, match) -> int | None:
    """The region a gated request belongs to, as far as it is known yet: the protocol's
    group, the region chosen on the home page, the one the flow placed the person in, or
    the one whose ticket or admission the visitor holds. None at the very start (the
    postcode page): the next page knows."""
    if match.namespace == "its":
        ags = str(match.kwargs.get("ags", ""))[:5]
        return _cached(f"ags:{ags}", District.objects.filter(ags=ags))
    slug = request.GET.get("region")
    if isinstance(slug, str) and slug:
        found = _cached(f"slug:{slug[:60]}", Region.objects.filter(slug=slug[:60]), "pk")
        if found:
            return found
    for key in ("codes_flow", "registration_flow"):
        region = (recall(request, key) or {}).get("region")
        if isinstance(region, int):
            return region
    district = (recall(request, "codes_booking") or {}).get("district")
    if isinstance(district, int):
        found = District.objects.filter(pk=district).values_list("region_id", flat=True).first()
        if found:
            return found
    for name in request.COOKIES:
        prefix, _sep, number = name.rpartition("-")
        if prefix in ("wr-pass", "wr-ticket") and number.isdigit():
            return int(number)
    return None


PLACE = "\ue000"  # where a visitor's own place goes into a kept page (a private-use character)
PAGES_KEPT = 256
_pages: dict[tuple, tuple[float, str, str]] = {}


def _page_around(request, region_id: int, refresh: int, auto_refresh: bool) -> tuple[str, str]:
    """The waiting page before and after the visitor's own place, rendered once per region,
    language, address, refresh and switch, and kept in the process for REGION_SECONDS: it
    is the same for everyone waiting there, and rendering it is most of a poll's cost."""
    path = request.get_full_path()
    key = (region_id, translation.get_language(), path, refresh, auto_refresh)
    now = time.monotonic()
    kept = _pages.get(key)
    if kept is not None and kept[0] > now:
        return kept[1], kept[2]
    page = render(
        request,
        "waitingroom/wait.html",
        {
            "region": _region(region_id),
            "place": mark_safe(PLACE),  # noqa: S308 - our own constant, no input
            "refresh_seconds": refresh,
            "auto_refresh": auto_refresh,
        },
    ).content.decode()
    before, _place, after = page.partition(PLACE)
    if len(path) <= 200:  # addresses are the visitors' to choose: long ones are not kept
        if len(_pages) >= PAGES_KEPT:
            _pages.clear()
        _pages[key] = (now + REGION_SECONDS, before, after)
    return before, after


class WaitingRoomMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        admitted = getattr(request, "_waiting_room_admitted", None)
        if admitted is not None:
            room = admitted
            response.set_cookie(
                services.admission_cookie_name(room.region_id),
                services.admission_signed(room.region_id),
                max_age=room.minutes * 60,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
            response.delete_cookie(services.ticket_cookie_name(room.region_id))
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.namespace not in GATED or match.view_name in PASSING:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return None
        region_id = region_of(request, match)
        room = services.room_for(region_id) if region_id else None
        if room is None:
            return None
        if services.admission_valid(
            request.COOKIES.get(services.admission_cookie_name(region_id)), room
        ):
            return None
        now = services.clock()
        services.arrival_count(room, now)
        if not room.active(now):
            return None
        ticket = services.ticket_from(
            request.COOKIES.get(services.ticket_cookie_name(region_id)), region_id
        )
        issued = ticket is None
        if issued:
            ticket = services.ticket_take(room, now)
        place = services.ticket_place(room, ticket, now)
        if place.admitted:
            request._waiting_room_admitted = room
            return None
        return self._waiting_page(request, match, room, ticket, place, issued)

    def _waiting_page(self, request, match, room, ticket, place, issued):
        # Only where people book from released slots themselves (codes mode, the 2021
        # protocol): a registration keeps its place in the pool when seats are gone.
        sold_out = match.namespace in ("codes", "its") and services.region_sold_out(room.region_id)
        refresh = LONG_WAIT_REFRESH_SECONDS if sold_out else refresh_seconds(place.wait_seconds)
        # 2021 clients look for the German words; the protocol speaks German.
        language = "de" if match.namespace == "its" else translation.get_language()
        auto_refresh = request.COOKIES.get(MANUAL_COOKIE) != "1"
        with translation.override(language):
            before, after = _page_around(request, room.region_id, refresh, auto_refresh)
            own = render_to_string(
                "waitingroom/place.html",
                {
                    "ahead": place.ahead,
                    "wait_minutes": max(1, -(-place.wait_seconds // 60)),
                    "sold_out": sold_out,
                },
            )
        response = HttpResponse(before + own + after)
        response["Cache-Control"] = "no-store"
        response["Retry-After"] = str(
            refresh if sold_out else max(1, min(refresh, place.wait_seconds))
        )
        if issued:
            response.set_cookie(
                services.ticket_cookie_name(room.region_id),
                services.ticket_signed(room.region_id, ticket),
                max_age=services.TICKET_DAYS * 86400,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
