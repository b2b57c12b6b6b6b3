"""The standby list (R8; the 2021 portal had none): a person with codes who finds no free
appointment joins their district's list for their vaccine. When slots are released or
freed, `standby_offers_make` offers them in the order people joined, by e-mail (and an
SMS that points to it), with a link valid for STANDBY_OFFER_HOURS. An open offer holds
its first-dose seat back from other offers, not from bookings: whoever books first wins,
and a person who follows the link too late is shown the next free times (R11).
An offer that runs out passes the seat on; after MAX_OFFERS unanswered offers the entry
expires."""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from impftermin.booking.messages import appointment_line, when
from impftermin.booking.models import AppointmentPair
from impftermin.booking.selectors import any_live_pair, get_district, pair_options, seats_left
from impftermin.booking.services import BookingResult, pair_book
from impftermin.centres.selectors import get_vaccine
from impftermin.codes.models import (
    STANDBY_ON_THE_LIST,
    CodeSet,
    StandbyEntry,
    StandbyOffer,
    StandbyOfferStatus,
    StandbyStatus,
)
from impftermin.codes.services import after_booking, check_code_district, code_set_for
from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import keyed_hash
from impftermin.notifications.services import message_send_later
from impftermin.regions.selectors import lock_district

MAX_OFFERS = 3
OFFER_INVALID = _("Dieses Angebot gibt es nicht (mehr).")


def offer_hours() -> int:
    return settings.STANDBY_OFFER_HOURS


def standby_position(entry: StandbyEntry) -> int:
    """1 for the next person to get an offer in this district and vaccine."""
    return (
        StandbyEntry.objects.filter(
            district_id=entry.district_id,
            vaccine_id=entry.vaccine_id,
            status=StandbyStatus.WAITING,
            created_at__lt=entry.created_at,
        ).count()
        + 1
    )


def standby_join(*, code: str, district_id: int, vaccine_id: int) -> StandbyEntry:
    """Put the person behind a code on the standby list of their district (one place per
    person; joining again keeps the place)."""
    code_set = code_set_for(code)
    district = get_district(district_id, region_id=code_set.region_id)
    check_code_district(code_set, district)
    vaccine = get_vaccine(vaccine_id)
    chosen = code_set.vaccine_id
    if chosen is not None and chosen != vaccine.pk:
        raise ServiceError(
            "standby_other_vaccine",
            _("Ihre Vermittlungscodes gelten für einen anderen Impfstoff."),
            field="vaccine",
        )
    if not code_set.email:
        raise ServiceError(
            "standby_needs_email",
            _("Für die Warteliste brauchen wir eine E-Mail-Adresse: dorthin senden wir Angebote."),
            field="code",
        )
    if any_live_pair(holders=[code_set.holder]):
        raise ServiceError(
            "standby_has_booking",
            _("Sie haben schon einen Termin; die Warteliste ist für Menschen ohne Termin."),
            field="code",
        )
    live = StandbyEntry.objects.filter(code_set=code_set, status__in=STANDBY_ON_THE_LIST).first()
    if live is not None:
        return live
    try:
        with transaction.atomic():
            entry = StandbyEntry.objects.create(
                code_set=code_set, district=district, vaccine=vaccine
            )
            _mail(
                code_set,
                kind="standby_joined",
                subject=_("Sie stehen auf der Warteliste"),
                body=ngettext_lazy(
                    "Guten Tag,\n\nSie stehen auf der Warteliste für den Kreis %(district)s. "
                    "Sobald ein Termin frei wird, bieten wir ihn Ihnen per E-Mail an; das "
                    "Angebot gilt dann %(hours)d Stunde.\n\nSie können weiterhin jederzeit "
                    "selbst mit Ihrem Vermittlungscode buchen.",
                    "Guten Tag,\n\nSie stehen auf der Warteliste für den Kreis %(district)s. "
                    "Sobald ein Termin frei wird, bieten wir ihn Ihnen per E-Mail an; das "
                    "Angebot gilt dann %(hours)d Stunden.\n\nSie können weiterhin jederzeit "
                    "selbst mit Ihrem Vermittlungscode buchen.",
                    "hours",
                ),
                params={"district": district.name, "hours": offer_hours()},
            )
    except IntegrityError:
        # A parallel join of the same person: the database kept one place.
        return StandbyEntry.objects.get(code_set=code_set, status__in=STANDBY_ON_THE_LIST)
    return entry


def _mail(code_set: CodeSet, *, kind: str, subject, body, params: dict) -> None:
    person = code_set
    with translation.override(person.language):
        message_send_later(
            channel="email",
            kind=kind,
            recipient=person.email,
            subject=str(subject),
            body=str(body % params),
            language=person.language,
            holder=person.holder,
        )


def _expire_offers(now: dt.datetime) -> set[int]:
    """Offers past their time pass their seat on; the person keeps their place in the
    queue (for the next round), until MAX_OFFERS went unanswered. Returns the entries
    whose offer just ran out."""
    expired = set()
    with transaction.atomic():
        offers = list(
            StandbyOffer.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=StandbyOfferStatus.OPEN, expires_at__lte=now)
            .select_related("entry")
        )
        for offer in offers:
            offer.status = StandbyOfferStatus.EXPIRED
            offer.save(update_fields=["status"])
            entry = offer.entry
            if entry.status == StandbyStatus.OFFERED:
                entry.status = (
                    StandbyStatus.EXPIRED
                    if entry.offers_made >= MAX_OFFERS
                    else StandbyStatus.WAITING
                )
                entry.save(update_fields=["status"])
            expired.add(entry.pk)
    return expired


def standby_offers_make(*, now: dt.datetime | None = None) -> int:
    """Offer free appointments to the people waiting, in order; returns the offers made.
    Safe to run in parallel with itself: one run at a time works on a district."""
    now = now or timezone.now()
    just_expired = _expire_offers(now)
    queues = (
        StandbyEntry.objects.filter(status=StandbyStatus.WAITING)
        .values("district_id", "vaccine_id")
        .annotate(waiting=Count("id"))
        .order_by()
    )
    made = 0
    for queue in queues:
        made += _offer_in_queue(queue["district_id"], queue["vaccine_id"], now, just_expired)
    return made


def _offer_in_queue(district_id: int, vaccine_id: int, now: dt.datetime, skip: set[int]) -> int:
    district = get_district(district_id)
    vaccine = get_vaccine(vaccine_id)
    today = timezone.localdate(now)
    with transaction.atomic():
        # One run at a time per district: a second run waits and then sees the first's
        # offers, so no seat is offered twice and the order of joining holds.
        lock_district(district_id=district.pk)
        waiting = list(
            StandbyEntry.objects.filter(
                district=district, vaccine=vaccine, status=StandbyStatus.WAITING
            )
            .exclude(pk__in=skip)
            .select_related("code_set__pin_request")
            .order_by("created_at", "id")[:200]
        )
        if not waiting:
            return 0
        options = pair_options(
            district_id=district.pk,
            vaccine=vaccine,
            date_from=today,
            date_to=today + dt.timedelta(days=district.region.release_days_ahead),
            party_size=1,
            limit=200,
        )
        held = Counter(
            StandbyOffer.objects.filter(
                status=StandbyOfferStatus.OPEN, first_slot_id__in=[o.first_slot_id for o in options]
            ).values_list("first_slot_id", flat=True)
        )
        free = seats_left(slot_ids=[o.first_slot_id for o in options])
        made = 0
        people = iter(waiting)
        for option in options:
            seats = free.get(option.first_slot_id, 0) - held[option.first_slot_id]
            while seats > 0:
                entry = next(people, None)
                if entry is None:
                    return made
                if any_live_pair(holders=[entry.code_set.holder]):
                    entry.status = StandbyStatus.BOOKED  # booked meanwhile by code
                    entry.save(update_fields=["status"])
                    continue
                _make_offer(entry, option, now)
                seats -= 1
                made += 1
        return made


def _make_offer(entry: StandbyEntry, option, now: dt.datetime) -> None:
    token = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(hours=offer_hours())
    StandbyOffer.objects.create(
        entry=entry,
        first_slot_id=option.first_slot_id,
        second_slot_id=option.second_slot_id,
        token_hash=keyed_hash("standby-offer", token),
        expires_at=expires_at,
    )
    entry.status = StandbyStatus.OFFERED
    entry.offers_made += 1
    entry.save(update_fields=["status", "offers_made"])
    person = entry.code_set
    with translation.override(person.language):
        link = settings.SITE_URL.rstrip("/") + reverse("codes:standby_offer", args=[token])
        until = when(expires_at)
        lines = [appointment_line(1, option.first_start)]
        if option.second_start:
            lines.append(appointment_line(2, option.second_start))
        body = gettext(
            "Guten Tag,\n\nfür Sie ist ein Termin frei geworden:\n\n%(dates)s\n\n"
            "Mit diesem Link buchen Sie ihn (gültig bis %(until)s):\n\n%(link)s\n\n"
            "Wenn Sie den Termin nicht möchten, müssen Sie nichts tun; das Angebot verfällt."
        ) % {"dates": "\n".join(lines), "until": until, "link": link}
        subject = gettext("Ein Impftermin ist für Sie frei")
        sms = gettext(
            "Impftermin: Für Sie ist ein Termin frei. Details in Ihrer E-Mail, gültig bis %(until)s."
        ) % {"until": until}
    message_send_later(
        channel="email",
        kind="standby_offer",
        recipient=person.email,
        subject=subject,
        body=body,
        language=person.language,
        holder=person.holder,
    )
    if person.pin_request is not None:  # online: the mobile number the PIN went to
        message_send_later(
            channel="sms",
            kind="standby_offer",
            recipient=person.pin_request.mobile,
            body=sms,
            holder=person.holder,
        )


def _open_offer(token: object, *, lock: bool = False) -> StandbyOffer:
    if not isinstance(token, str) or not token or len(token) > 100:
        raise ServiceError("offer_invalid", OFFER_INVALID, field="token")
    offers = StandbyOffer.objects.select_related(
        "entry__code_set__pin_request", "entry__district", "first_slot__centre", "second_slot"
    )
    if lock:
        offers = offers.select_for_update(of=("self",))
    offer = offers.filter(token_hash=keyed_hash("standby-offer", token)).first()
    if offer is None:
        raise ServiceError("offer_invalid", OFFER_INVALID, field="token")
    if offer.status == StandbyOfferStatus.ACCEPTED:
        raise ServiceError(
            "offer_used", _("Dieses Angebot haben Sie schon angenommen."), field="token"
        )
    if offer.entry.status == StandbyStatus.BOOKED:
        raise ServiceError("offer_used", _("Sie haben schon einen Termin gebucht."), field="token")
    if offer.status == StandbyOfferStatus.EXPIRED or offer.expires_at <= timezone.now():
        raise ServiceError(
            "offer_expired",
            _("Dieses Angebot ist abgelaufen. Sie bleiben auf der Warteliste."),
            field="token",
        )
    return offer


def standby_offer(*, token: str) -> StandbyOffer:
    """The open offer behind a link (to show it)."""
    return _open_offer(token)


def standby_offer_accept(
    *, token: str, first_slot_id: int | None = None, second_slot_id: int | None = None
) -> BookingResult:
    """Book the offered appointments (or, after a lost race, one of the next free ones
    shown instead, R11) for the person on the list, through the booking engine."""
    offer = _open_offer(token)
    code_set = offer.entry.code_set
    if first_slot_id is None:
        first_slot_id, second_slot_id = offer.first_slot_id, offer.second_slot_id

    def accepted(pairs: list[AppointmentPair], _replaced: AppointmentPair | None) -> None:
        locked = _open_offer(token, lock=True)  # once, even when clicked twice at once
        locked.status = StandbyOfferStatus.ACCEPTED
        locked.save(update_fields=["status"])
        after_booking([code_set], pairs)

    return pair_book(
        holder=code_set.holder,
        district_id=offer.entry.district_id,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        on_booked=accepted,
        vaccine_id=offer.entry.vaccine_id,
    )
