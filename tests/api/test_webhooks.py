"""Webhooks: a partner's own bookings are announced, signed, to its URL by the worker;
a failed delivery is retried until the partner's server answers, and sent once."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import Client
from django.utils import timezone

from impftermin.api.models import DeliveryStatus, Webhook, WebhookDelivery
from impftermin.api.services import SIGNATURE_HEADER, webhook_deliver, webhook_secret_new
from tests.api.helpers import make_partner
from tests.codes.helpers import codes_for
from tests.factories import at, make_postcode, make_slot
from tests.mail import free_port, run_worker


class Receiver:
    """A partner's HTTP server on loopback that records what it is sent."""

    def __init__(self, port: int, status: int = 200):
        self.port, self.status, self.requests = port, status, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooked(world):
    make_postcode("48143", world.district)
    world.first = make_slot(world.centre, world.biontech, at(5, 9), capacity=2)
    world.second = make_slot(world.centre, world.biontech, at(27, 9), capacity=2, released=False)
    world.partner, _key, world.key_text = make_partner(world.region)
    world.port = free_port()
    world.hook = Webhook.objects.create(
        partner=world.partner,
        url=f"http://127.0.0.1:{world.port}/events",
        secret=webhook_secret_new(),
    )
    return world


def book(world, code):
    return Client().post(
        "/api/v1/partner/bookings",
        json.dumps(
            {
                "codes": [code],
                "district": world.district.ags,
                "first_slot": world.first.pk,
                "second_slot": world.second.pk,
            }
        ),
        content_type="application/json",
        HTTP_X_API_KEY=world.key_text,
    )


@pytest.mark.django_db(transaction=True)
def test_API_webhook_announces_a_booking_signed_with_the_secret(hooked):
    receiver = Receiver(hooked.port)
    try:
        codes = codes_for(hooked, "+4915112345678")
        assert book(hooked, codes[0]).status_code == 201
        run_worker()
    finally:
        receiver.stop()
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    event = json.loads(body)
    assert event["event"] == "booking.created" and headers["Impftermin-Event"] == "booking.created"
    assert event["data"]["centre"] == hooked.centre.pk and len(event["data"]["appointments"]) == 2
    assert "person@example.org" not in body.decode() and codes[0] not in body.decode()
    stamp, signature = (part.split("=", 1)[1] for part in headers[SIGNATURE_HEADER].split(","))
    expected = hmac.new(hooked.hook.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest())
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_API_webhook_is_retried_while_the_partner_is_down_and_sent_once(hooked):
    codes = codes_for(hooked, "+4915112345678")
    assert book(hooked, codes[0]).status_code == 201
    run_worker()  # nobody listens yet
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now() and delivery.last_error
    receiver = Receiver(hooked.port, status=503)
    try:
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        assert webhook_deliver(delivery_id=delivery.pk) == "retry"  # a 5xx is no delivery
        receiver.status = 204
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        assert webhook_deliver(delivery_id=delivery.pk) == "sent"
        assert webhook_deliver(delivery_id=delivery.pk) == "skipped"  # never twice
        run_worker()  # the queued retries find it sent
    finally:
        receiver.stop()
    assert len(receiver.requests) == 2  # the 503 and the success
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3


@pytest.mark.django_db(transaction=True)
def test_API_a_booking_refused_sends_no_webhook_and_cancel_and_rebook_do(hooked):
    codes = codes_for(hooked, "+4915112345678")
    hooked.first.booked = 2
    hooked.first.save()
    assert book(hooked, codes[0]).status_code == 409
    assert not WebhookDelivery.objects.exists()
    hooked.first.booked = 0
    hooked.first.save()
    assert book(hooked, codes[0]).status_code == 201
    Client().post(
        "/api/v1/partner/bookings/cancel",
        json.dumps({"code": codes[0]}),
        content_type="application/json",
        HTTP_X_API_KEY=hooked.key_text,
    )
    assert list(WebhookDelivery.objects.order_by("id").values_list("event", flat=True)) == [
        "booking.created",
        "booking.cancelled",
    ]


@pytest.mark.django_db(transaction=True)
def test_API_a_redirect_is_no_delivery(hooked):
    receiver = Receiver(hooked.port, status=302)
    try:
        codes = codes_for(hooked, "+4915112345678")
        assert book(hooked, codes[0]).status_code == 201
        delivery = WebhookDelivery.objects.get()
        assert webhook_deliver(delivery_id=delivery.pk) == "retry"
    finally:
        receiver.stop()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and "302" in delivery.last_error
