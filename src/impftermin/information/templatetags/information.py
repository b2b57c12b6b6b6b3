"""{% faq_links region "pin-purpose" "pin-validity" %}: the region's FAQ entries with these
keys, linked where people need them (issue 11 item 3). Renders nothing for a missing region
or for entries that do not exist or are not published, so operators may remove them."""

from django import template
from django.urls import reverse
from django.utils import translation

from impftermin.information.selectors import faq_questions

register = template.Library()


@register.inclusion_tag("information/_faq_links.html")
def faq_links(region, *keys: str) -> dict:
    if region is None or not getattr(region, "pk", None):
        return {"links": []}
    language = translation.get_language() or "de"
    base = reverse("information:faq", args=[region.slug])
    questions = faq_questions(region_id=region.pk, keys=list(keys), language=language)
    return {
        "LANGUAGE_CODE": language,
        "links": [{"href": f"{base}#{key}", "question": question} for key, question in questions],
        "all": base,
    }
