"""{{ value|grouped }}: an identifier in groups of four, as read out and printed."""

from django import template

from impftermin.core import identifiers

register = template.Library()


@register.filter
def grouped(value) -> str:
    return identifiers.grouped(str(value or ""))
