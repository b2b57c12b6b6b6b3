"""The information pages (issue 11): a region's FAQ with a search, its quick guides and
pages, and the hotline from the region's data. Public and cacheable: no form here needs a
CSRF token (the search is a GET, the language switch a link), so shared caches may keep
them (for visitors without a session); the ETag changes whenever a text, the hotline or
the release does."""

from __future__ import annotations

import hashlib
from functools import cache, wraps
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_GET

from impftermin.core.errors import ServiceError
from impftermin.information import selectors
from impftermin.regions.selectors import get_region

CACHE_SECONDS = 60  # an edit reaches every visitor within a minute; revalidation by ETag


def _region(slug: str):
    try:
        return get_region(slug=slug)
    except ServiceError:
        raise Http404 from None


@cache
def _release() -> str:
    """Changes with a deploy that may change these pages: their code, templates and the
    translations (otherwise a cache would revalidate to the old page)."""
    root = Path(__file__).resolve().parent.parent
    files = sorted(
        [
            *root.glob("locale/*/LC_MESSAGES/django.mo"),
            *root.glob("information/**/*.py"),
            *root.glob("information/templates/**/*.html"),
            *root.glob("core/templates/**/*.html"),
        ]
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _etag(request: HttpRequest, region: str, key: str | None = None) -> str | None:
    try:
        found = get_region(slug=region)
    except ServiceError:
        return None
    return f"{translation.get_language()}-{_release()}-{selectors.version(region=found)}"


def _public(view):
    """GET only, revalidated by ETag, and kept by shared caches only for visitors without
    a session: a logged-in staff member's request writes to the session (the idle check),
    and a response that sets a session cookie must never be stored for others."""
    revalidated = condition(etag_func=_etag)(view)

    @wraps(view)
    def cacheable(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = revalidated(request, *args, **kwargs)
        session = getattr(request, "session", None)
        personal = settings.SESSION_COOKIE_NAME in request.COOKIES or (
            session is not None and (session.modified or not session.is_empty())
        )
        if personal:
            patch_cache_control(response, private=True, max_age=CACHE_SECONDS)
        else:
            patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
        return response

    return require_GET(cacheable)


@_public
def faq(request: HttpRequest, region: str) -> HttpResponse:
    found = _region(region)
    language = translation.get_language() or "de"
    query = request.GET.get("q", "")
    words = selectors.search_words(query)
    categories = selectors.faq(region=found, language=language, query=" ".join(words))
    return render(
        request,
        "information/faq.html",
        {
            "region": found,
            "categories": categories,
            "query": " ".join(words),
            "hits": sum(len(c.entries) for c in categories),
            "pages": selectors.pages(region=found, language=language),
        },
    )


@_public
def page(request: HttpRequest, region: str, key: str) -> HttpResponse:
    found = _region(region)
    language = translation.get_language() or "de"
    shown = selectors.page(
        region=found, key=key, language=language, plain=request.GET.get("einfach") == "1"
    )
    if shown is None:
        raise Http404
    return render(
        request,
        "information/page.html",
        {"region": found, "page": shown, "pages": selectors.pages(region=found, language=language)},
    )
