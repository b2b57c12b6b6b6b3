"""The information pages (issue 11): a region's FAQ with a search, its quick guides and
pages, and the hotline from the region's data. Public and cacheable: no form here needs a
CSRF token (the search is a GET, the language switch a link), so shared caches may keep
them; the ETag changes whenever a text or the hotline does."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import cache_control
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


def _etag(request: HttpRequest, region: str, key: str | None = None) -> str | None:
    try:
        found = get_region(slug=region)
    except ServiceError:
        return None
    return f"{translation.get_language()}-{selectors.version(region=found)}"


def _public(view):
    return require_GET(
        cache_control(public=True, max_age=CACHE_SECONDS)(condition(etag_func=_etag)(view))
    )


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
