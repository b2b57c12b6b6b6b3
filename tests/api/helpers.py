"""A partner with a key for the test world's region."""

from impftermin.api.models import Partner
from impftermin.api.services import api_key_issue

ALL_SCOPES = ["search", "book", "manage", "register"]


def make_partner(region, scopes=None, name="Stadtportal Münster"):
    partner = Partner.objects.create(name=name, scopes=ALL_SCOPES if scopes is None else scopes)
    partner.regions.add(region)
    key, text = api_key_issue(partner_id=partner.pk, label="test")
    return partner, key, text
