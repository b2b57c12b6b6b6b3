"""Print an example client session against /api/v1/ (the README shows one): a partner and
a key are made, a caller's booking codes issued, then the calls a partner system makes —
read, search, book with an idempotency key, the same request again, read, cancel. All
inside one transaction that is rolled back: nothing of it stays in the database."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client

from impftermin.api.models import Partner
from impftermin.api.services import api_key_issue
from impftermin.codes.services import code_set_issue_by_phone
from impftermin.regions.models import BookingMode, District

SHOWN_ITEMS = 2  # long lists are cut in the transcript


class _RollBack(Exception):
    pass


class Command(BaseCommand):
    help = "Print an example session of a partner system against /api/v1/ (rolled back)."

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                self._session()
                raise _RollBack
        except _RollBack:
            pass

    def _session(self):
        district = (
            District.objects.filter(region__booking_mode=BookingMode.CODES, centres__active=True)
            .select_related("region")
            .order_by("ags")
            .first()
        )
        if district is None:
            raise CommandError("No region in codes mode with a centre: run load_demo_data.")
        partner = Partner.objects.create(name="Beispielportal", scopes=["search", "book", "manage"])
        partner.regions.add(district.region)
        _key, key = api_key_issue(partner_id=partner.pk, label="example")
        vaccine = district.centres.filter(active=True).first().capacities.first().vaccine
        code = code_set_issue_by_phone(region_id=district.region_id, vaccine_id=vaccine.pk).codes[0]
        client = Client(HTTP_HOST="127.0.0.1")
        auth = {"HTTP_X_API_KEY": key}
        self._call(
            client, "GET", f"/api/v1/availability?centre={district.centres.first().pk}&days=3"
        )
        pairs = self._call(
            client,
            "GET",
            f"/api/v1/partner/pairs?district={district.ags}&vaccine={vaccine.code}&limit=2",
            **auth,
        )
        if not pairs:
            raise CommandError("No free pairs: run load_demo_data (it releases slots).")
        body = {
            "codes": [code],
            "district": district.ags,
            "first_slot": pairs[0]["first_slot"],
            "second_slot": pairs[0]["second_slot"],
        }
        self._call(
            client,
            "POST",
            "/api/v1/partner/bookings",
            body,
            HTTP_IDEMPOTENCY_KEY="order-4711",
            **auth,
        )
        self._call(
            client,
            "POST",
            "/api/v1/partner/bookings",
            body,
            HTTP_IDEMPOTENCY_KEY="order-4711",
            **auth,
        )
        self._call(client, "POST", "/api/v1/partner/bookings/lookup", {"code": code}, **auth)
        self._call(client, "POST", "/api/v1/partner/bookings/cancel", {"code": code}, **auth)
        self._call(
            client, "POST", "/api/v1/partner/bookings/lookup", {"code": "ABCD-EFGH-JKMN"}, **auth
        )

    def _call(self, client, method, path, body=None, **headers):
        shown = [f"{method} {path}"]
        if "HTTP_X_API_KEY" in headers:
            shown.append("X-API-Key: itk_…")
        if "HTTP_IDEMPOTENCY_KEY" in headers:
            shown.append(f"Idempotency-Key: {headers['HTTP_IDEMPOTENCY_KEY']}")
        if body is None:
            response = getattr(client, method.lower())(path, **headers)
        else:
            shown.append(json.dumps(body, ensure_ascii=False))
            response = client.post(
                path, json.dumps(body), content_type="application/json", **headers
            )
        data = response.json()
        printed = (
            data[:SHOWN_ITEMS] + (["…"] if len(data) > SHOWN_ITEMS else [])
            if isinstance(data, list)
            else data
        )
        replayed = " (Idempotent-Replayed: true)" if response.get("Idempotent-Replayed") else ""
        self.stdout.write("> " + "\n> ".join(shown))
        self.stdout.write(f"< {response.status_code}{replayed}")
        self.stdout.write(json.dumps(printed, ensure_ascii=False) + "\n")
        return data
