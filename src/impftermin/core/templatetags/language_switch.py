"""The language switch's target address."""

from django import template
from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url

register = template.Library()


@register.simple_tag(takes_context=True)
def default_language_path(context: template.Context) -> str:
    """The current page's address in the default language, i.e. without a prefix.

    The language switch posts it as `next`. Django's `set_language` view runs under the
    default language (its URL has no prefix), so it can translate an unprefixed address
    into any language, but not a prefixed one: posting `/en/` with German chosen would
    redirect back to `/en/` and the page would stay English.
    """
    request: HttpRequest = context["request"]
    return translate_url(request.get_full_path(), settings.LANGUAGE_CODE)


@register.simple_tag(takes_context=True)
def language_path(context: template.Context, language: str) -> str:
    """The current page's address in `language`: for pages that switch language by a plain
    link (cacheable pages, which carry no CSRF token for the switch's form)."""
    request: HttpRequest = context["request"]
    return translate_url(request.get_full_path(), language)
