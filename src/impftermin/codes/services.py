"""SMS PIN (R2, R3): a mobile number receives a 6-digit PIN, valid for the region's
minutes, at most the region's number of PINs per calendar day (Europe/Berlin), at most
MAX_WRONG_PINS wrong tries. The PIN goes out through the message outbox."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from impftermin.booking.models import AppointmentPair, AppointmentStatus, Channel
from impftermin.booking.selectors import (
    MAX_PARTY_SIZE,
    any_live_pair,
    get_district,
    in_progress_refusal,
    last_appointment_start,
    live_pair_for,
)
from impftermin.booking.services import (
    HOLDER_HAS_LIVE_PAIR,
    BookingResult,
    pair_book,
    pair_cancel,
    pair_rebook,
    pairs_book_adjacent,
)
from impftermin.centres.selectors import UNKNOWN_VACCINE, get_vaccine
from impftermin.codes.messages import send_booking_confirmation, send_cancellation
from impftermin.codes.models import (
    STANDBY_ON_THE_LIST,
    BookingCode,
    CodeSet,
    CodeSetChannel,
    EmailVerification,
    PinRequest,
    StandbyEntry,
    StandbyOffer,
    StandbyOfferStatus,
    StandbyStatus,
)
from impftermin.codes.tasks import make_standby_offers
from impftermin.core import identifiers
from impftermin.core.contact import normalise_mobile
from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import keyed_hash
from impftermin.core.throttle import Limit, attempt_give_back, attempt_take, attempts_count
from impftermin.notifications.services import message_send_later, messages_erase
from impftermin.regions.models import BookingMode, District
from impftermin.regions.selectors import get_region_in_mode
from impftermin.vaccines.models import Vaccine

log = logging.getLogger(__name__)

MAX_WRONG_PINS = 5
PIN_DIGITS = 6

# Per client (address), for every channel that a citizen's client reaches — the web pages
# and the 2021 protocol (impftermin.its) alike: PIN requests (each sends an SMS), PIN
# checks and code look-ups (failures only: a success gives its attempt back).
PIN_REQUESTS_PER_CLIENT = Limit("pin-request-client", 20, dt.timedelta(hours=1))
PIN_CHECKS_PER_CLIENT = Limit("pin-check-client", 30, dt.timedelta(hours=1))
CODE_LOOKUPS_PER_CLIENT = Limit("code-lookup-client", 30, dt.timedelta(hours=1))


@dataclass(frozen=True)
class PinSent:
    token: str  # the flow's handle on this PIN (kept by the browser session or API client)
    expires_at: dt.datetime


def pin_request(
    *,
    region_id: int,
    mobile: str,
    email: str,
    language: str = "de",
    vaccine_id: int | None = None,
    single_dose: bool = False,
    district_id: int | None = None,
    client: str | None = None,
) -> PinSent:
    """Send a PIN to a mobile number (R2), at most the region's number per day (R3). The
    chosen vaccine (after the eligibility check) decides one code or two. `district_id`
    binds the codes to that district's centres (the 2021 protocol's centre group);
    `client` counts the request against the client's hourly limit."""
    if client is not None:
        attempt_take([(PIN_REQUESTS_PER_CLIENT, client)])
    region = get_region_in_mode(
        region_id=region_id,
        mode=BookingMode.CODES,
        refusal=_("In dieser Region gibt es keine Vermittlungscodes."),
    )
    district = None if district_id is None else get_district(district_id, region_id=region.pk)
    mobile = normalise_mobile(mobile)
    _check_sms_destination(mobile)
    try:
        if not isinstance(email, str) or len(email) > 254:
            raise ValidationError("not an address")
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            "email_invalid", _("Bitte geben Sie eine gültige E-Mail-Adresse an."), field="email"
        ) from None
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    vaccine = None
    if vaccine_id is not None:
        vaccine = get_vaccine(vaccine_id)
        if not vaccine.active:
            raise ServiceError("unknown_vaccine", UNKNOWN_VACCINE, field="vaccine")
        single_dose = single_dose or vaccine.doses == 1
    limit = region.pins_per_mobile_per_day
    today = timezone.localdate()
    _check_cooldown(mobile)
    _take_from_sms_budget()
    for _attempt in range(limit + 1):
        issued = PinRequest.objects.filter(mobile=mobile, day=today).count()
        if issued >= limit:
            tomorrow = today + dt.timedelta(days=1)
            raise ServiceError(
                "pin_limit_reached",
                ngettext_lazy(
                    "Für diese Mobilnummer wurde heute schon %(limit)d PIN angefordert. Eine weitere ist ab %(date)s möglich.",
                    "Für diese Mobilnummer wurden heute schon %(limit)d PINs angefordert. Eine weitere ist ab %(date)s möglich.",
                    "limit",
                ),
                field="mobile",
                limit=limit,
                date=formats.date_format(tomorrow, "SHORT_DATE_FORMAT"),
            )
        pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"
        token = secrets.token_urlsafe(32)
        expires_at = timezone.now() + dt.timedelta(minutes=region.pin_validity_minutes)
        try:
            with transaction.atomic():
                PinRequest.objects.create(
                    region=region,
                    mobile=mobile,
                    day=today,
                    sequence=issued + 1,  # unique per (mobile, day): a parallel request loses
                    token_hash=keyed_hash("pin-token", token),
                    pin_hash=keyed_hash("pin", f"{token}:{pin}"),
                    email=email,
                    language=language,
                    vaccine=vaccine,
                    single_dose=bool(single_dose),
                    district=district,
                    expires_at=expires_at,
                )
                with translation.override(language):
                    text = str(
                        _(
                            "Ihre PIN für Impftermin: %(pin)s. Sie gilt %(minutes)d Minuten. Geben Sie sie niemandem weiter."
                        )
                        % {"pin": pin, "minutes": region.pin_validity_minutes}
                    )
                message_send_later(channel="sms", kind="sms_pin", recipient=mobile, body=text)
        except IntegrityError:
            continue  # another request took this sequence number meanwhile: count again
        return PinSent(token=token, expires_at=expires_at)
    raise ServiceError("pin_busy", _("Bitte versuchen Sie es gleich noch einmal."), field="mobile")


SMS_NOT_THERE = _(
    "An Mobilnummern aus diesem Land können wir leider keine SMS senden. Bitte rufen Sie die Hotline an."
)
SMS_BUDGET_SPENT = _(
    "Wegen sehr vieler Anfragen senden wir gerade keine SMS-PINs. Bitte versuchen Sie es später erneut oder rufen Sie die Hotline an."
)


def _check_sms_destination(mobile: str) -> None:
    """SMS pumping: PINs only to the allowed countries."""
    country = phonenumbers.region_code_for_number(phonenumbers.parse(mobile))
    if country not in settings.SMS_ALLOWED_COUNTRIES:
        raise ServiceError("mobile_country_not_allowed", SMS_NOT_THERE, field="mobile")


def _check_cooldown(mobile: str) -> None:
    """One PIN per number within the cooldown (a person waits for the SMS)."""
    seconds = settings.SMS_PIN_COOLDOWN_SECONDS
    if seconds <= 0:
        return
    last = (
        PinRequest.objects.filter(
            mobile=mobile, created_at__gt=timezone.now() - dt.timedelta(seconds=seconds)
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is not None:
        wait = seconds - int((timezone.now() - last).total_seconds())
        raise ServiceError(
            "pin_cooldown",
            _(
                "Wir haben Ihnen gerade eine PIN gesendet. Eine neue können Sie in %(seconds)d Sekunden anfordern."
            ),
            field="mobile",
            seconds=max(1, wait),
            retry_after=max(1, wait),
        )


def sms_budgets() -> list[Limit]:
    return [
        Limit("sms-budget-hour", settings.SMS_BUDGET_PER_HOUR, dt.timedelta(hours=1)),
        Limit("sms-budget-day", settings.SMS_BUDGET_PER_DAY, dt.timedelta(days=1)),
    ]


def _take_from_sms_budget() -> None:
    """The service's SMS budget (counted in the database, whatever happens to the cache).
    Reaching it stops PINs with a plain message and alerts operations once per window."""
    budgets = sms_budgets()
    try:
        attempt_take([(budget, "all") for budget in budgets])
    except ServiceError as error:
        if (
            attempts_count(budgets[0], "all") == budgets[0].attempts + 1
            or attempts_count(budgets[1], "all") == budgets[1].attempts + 1
        ):
            _alert_sms_budget()
        raise ServiceError(
            "sms_budget_spent",
            SMS_BUDGET_SPENT,
            field="mobile",
            retry_after=error.params.get("retry_after"),
        ) from None


def _alert_sms_budget() -> None:
    log.error("SMS budget reached: PINs stopped until the window ends")
    if settings.OPERATIONS_EMAIL:
        message_send_later(
            channel="email",
            kind="sms_budget_alert",
            recipient=settings.OPERATIONS_EMAIL,
            subject="Impftermin: SMS-Budget erreicht",
            body=(
                "Das SMS-Budget ist erreicht; SMS-PINs werden nicht mehr gesendet, bis das Zeitfenster endet. "
                f"Budget: {settings.SMS_BUDGET_PER_HOUR} je Stunde, {settings.SMS_BUDGET_PER_DAY} je Tag."
            ),
        )


def pin_verify(*, token: str, pin: str, client: str | None = None) -> PinRequest:
    """Check a PIN; when right, mail the e-mail verification link (R2). A wrong one counts
    (and stays counted); after MAX_WRONG_PINS the PIN is void; an expired one is refused.
    `client`: the check counts against the client's limit unless the PIN was right."""
    if client is not None:
        attempt_take([(PIN_CHECKS_PER_CLIENT, client)])
    request = _pin_check(token, pin)
    if client is not None:
        attempt_give_back(PIN_CHECKS_PER_CLIENT, client)
    return request


def _pin_check(token: object, pin: object) -> PinRequest:
    if not isinstance(token, str) or not token or len(token) > 100:
        raise ServiceError("pin_unknown", _("Bitte fordern Sie eine neue PIN an."), field="token")
    if not isinstance(pin, str):
        raise ServiceError("pin_format", _("Die PIN hat 6 Ziffern."), field="pin")
    pin = pin.strip()
    if len(pin) != PIN_DIGITS or not pin.isascii() or not pin.isdigit():
        raise ServiceError("pin_format", _("Die PIN hat 6 Ziffern."), field="pin")
    with transaction.atomic():
        request = (
            PinRequest.objects.select_for_update()
            .filter(token_hash=keyed_hash("pin-token", token))
            .first()
        )
        if request is None:
            raise ServiceError(
                "pin_unknown", _("Bitte fordern Sie eine neue PIN an."), field="token"
            )
        if request.verified_at is not None:
            raise ServiceError("pin_used", _("Diese PIN wurde schon verwendet."), field="pin")
        if request.failed_attempts >= MAX_WRONG_PINS:
            raise ServiceError(
                "pin_void",
                _("Die PIN wurde zu oft falsch eingegeben. Bitte fordern Sie eine neue an."),
                field="pin",
            )
        if timezone.now() > request.expires_at:
            raise ServiceError(
                "pin_expired",
                _("Die PIN ist abgelaufen. Bitte fordern Sie eine neue an."),
                field="pin",
            )
        if hmac.compare_digest(request.pin_hash, keyed_hash("pin", f"{token}:{pin}")):
            request.verified_at = timezone.now()
            request.save(update_fields=["verified_at"])
            _send_verification_link(request)
            return request
        request.failed_attempts += 1
        request.save(update_fields=["failed_attempts"])  # committed: the failure counts
    left = MAX_WRONG_PINS - request.failed_attempts
    if left <= 0:
        raise ServiceError(
            "pin_void",
            _("Die PIN wurde zu oft falsch eingegeben. Bitte fordern Sie eine neue an."),
            field="pin",
        )
    raise ServiceError(
        "pin_wrong",
        ngettext_lazy(
            "Die PIN ist falsch. Sie haben noch %(left)d Versuch.",
            "Die PIN ist falsch. Sie haben noch %(left)d Versuche.",
            "left",
        ),
        field="pin",
        left=left,
    )


# --- e-mail verification and booking codes (R2) ---------------------------------------------

CODE_ALPHABET = identifiers.ALPHABET  # no 0/O, 1/I/L look-alikes
CODE_LENGTH = 12
EMAIL_LINK_VALIDITY = dt.timedelta(hours=24)


format_code = identifiers.grouped


def normalise_code(text: object) -> str:
    """A booking code as typed: with or without dashes and spaces, in any case."""
    code = identifiers.normalised(text, CODE_LENGTH)
    if code is None:
        raise ServiceError("code_format", CODE_FORMAT, field="code")
    return code


CODE_FORMAT = _("Ein Vermittlungscode hat 12 Zeichen, z. B. ABCD-EFGH-JKMN.")
LINK_INVALID = _("Dieser Link ist ungültig. Bitte fordern Sie eine neue PIN an.")


def _send_verification_link(request: PinRequest) -> None:
    token = secrets.token_urlsafe(32)
    EmailVerification.objects.create(
        pin_request=request,
        token_hash=keyed_hash("email-link", token),
        expires_at=timezone.now() + EMAIL_LINK_VALIDITY,
    )
    with translation.override(request.language):
        link = settings.SITE_URL.rstrip("/") + reverse("codes:confirm_email", args=[token])
        subject = str(_("Bitte bestätigen Sie Ihre E-Mail-Adresse"))
        body = str(
            _(
                "Guten Tag,\n\nbitte bestätigen Sie Ihre E-Mail-Adresse mit diesem Link (gültig 24 Stunden, "
                "nur einmal verwendbar):\n\n%(link)s\n\nDanach senden wir Ihnen Ihre Vermittlungscodes."
            )
            % {"link": link}
        )
    message_send_later(
        channel="email",
        kind="email_verification",
        recipient=request.email,
        subject=subject,
        body=body,
        language=request.language,
    )


def email_link_confirm(*, token: str) -> CodeSet:
    """Follow the e-mail link (once, in time): create the booking codes — one per
    appointment of the pair, one for a single dose — and mail them (R2)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        raise ServiceError("link_invalid", LINK_INVALID, field="token")
    with transaction.atomic():
        verification = (
            EmailVerification.objects.select_for_update()
            .select_related("pin_request")
            .filter(token_hash=keyed_hash("email-link", token))
            .first()
        )
        if verification is None:
            raise ServiceError("link_invalid", LINK_INVALID, field="token")
        if verification.used_at is not None:
            raise ServiceError(
                "link_used",
                _(
                    "Dieser Link wurde schon verwendet. Ihre Codes haben wir Ihnen bereits gesendet."
                ),
                field="token",
            )
        if timezone.now() > verification.expires_at:
            raise ServiceError(
                "link_expired",
                _("Dieser Link ist abgelaufen. Bitte fordern Sie eine neue PIN an."),
                field="token",
            )
        verification.used_at = timezone.now()
        verification.save(update_fields=["used_at"])
        person = verification.pin_request
        code_set, codes = _code_set_create(
            region_id=person.region_id,
            channel=CodeSetChannel.ONLINE,
            vaccine_id=person.vaccine_id,
            single_dose=person.single_dose,
            email=person.email,
            language=person.language,
            pin_request=person,
        )
        with translation.override(person.language):
            if len(codes) == 1:
                lines = str(_("Ihr Vermittlungscode: %(code)s") % {"code": format_code(codes[0])})
            else:
                lines = str(
                    _(
                        "Vermittlungscode für den 1. Termin: %(first)s\nVermittlungscode für den 2. Termin: %(second)s"
                    )
                    % {"first": format_code(codes[0]), "second": format_code(codes[1])}
                )
            subject = str(_("Ihre Vermittlungscodes"))
            body = str(
                _(
                    "Guten Tag,\n\n%(codes)s\n\nMit den Codes buchen, prüfen, verschieben und stornieren Sie Ihre "
                    "Termine. Bewahren Sie sie gut auf und geben Sie sie nicht weiter."
                )
                % {"codes": lines}
            )
        message_send_later(
            channel="email",
            kind="booking_codes",
            recipient=person.email,
            subject=subject,
            body=body,
            language=person.language,
            holder=code_set.holder,
        )
    return code_set


def _code_set_create(
    *,
    region_id: int,
    channel: str,
    vaccine_id: int | None,
    single_dose: bool,
    email: str,
    language: str,
    pin_request: PinRequest | None = None,
) -> tuple[CodeSet, list[str]]:
    """The one way booking codes come to be: a set for one person, one code per
    appointment of the pair, one for a single dose. Returns the set and the codes in
    clear (only their keyed hashes are stored)."""
    code_set = CodeSet.objects.create(
        region_id=region_id,
        pin_request=pin_request,
        channel=channel,
        vaccine_id=vaccine_id,
        single_dose=single_dose,
        email=email,
        language=language,
    )
    codes = []
    for dose in (1,) if single_dose else (1, 2):
        code = identifiers.random_string(CODE_LENGTH)
        BookingCode.objects.create(
            code_set=code_set, dose=dose, code_hash=keyed_hash("booking-code", code)
        )
        codes.append(code)
    return code_set, codes


@dataclass(frozen=True)
class PhoneCodes:
    code_set: CodeSet
    codes: list[str]  # in clear, for the agent to read out once (1st, 2nd appointment)


def code_set_issue_by_phone(
    *, region_id: int, vaccine_id: int, email: str = "", language: str = "de"
) -> PhoneCodes:
    """Booking codes for a caller (R1: the phone channel, the same capacity): no SMS PIN,
    and the e-mail address is optional. Nothing is mailed here; the agent reads the codes
    out. With an address, booking confirmations go there; without, none (R1)."""
    get_region_in_mode(
        region_id=region_id,
        mode=BookingMode.CODES,
        refusal=_("In dieser Region gibt es keine Vermittlungscodes."),
    )
    email = email.strip() if isinstance(email, str) else ""
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ServiceError(
                "email_invalid",
                _("Bitte geben Sie eine gültige E-Mail-Adresse an."),
                field="email",
            ) from None
    vaccine = get_vaccine(vaccine_id)
    if not vaccine.active:
        raise ServiceError("unknown_vaccine", UNKNOWN_VACCINE, field="vaccine")
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with transaction.atomic():
        code_set, codes = _code_set_create(
            region_id=region_id,
            channel=CodeSetChannel.PHONE,
            vaccine_id=vaccine.pk,
            single_dose=vaccine.doses == 1,
            email=email,
            language=language,
        )
    return PhoneCodes(code_set=code_set, codes=codes)


# --- booking with codes (R4, R7, R10) ---------------------------------------------------------

MAX_CODES_PER_BOOKING = min(4, MAX_PARTY_SIZE)  # couples and households side by side (R7)
PARTY_SIZE = _("Gemeinsam buchen können 1 bis 4 Personen.")
OTHER_VACCINE = _("Gemeinsam buchen können nur Personen mit demselben Impfstoff.")
OTHER_DISTRICT = _("Gemeinsam umbuchen können nur Personen, deren Termine im selben Kreis liegen.")
UNKNOWN_CODE = _("Diesen Vermittlungscode kennen wir nicht. Bitte prüfen Sie ihn.")


def code_set_for(code: object) -> CodeSet:
    """The person behind a booking code; either of their codes will do (R4)."""
    found = (
        BookingCode.objects.filter(code_hash=keyed_hash("booking-code", normalise_code(code)))
        .select_related("code_set__vaccine", "code_set__pin_request")
        .first()
    )
    if found is None:
        raise ServiceError("code_unknown", UNKNOWN_CODE, field="code")
    return found.code_set


KNOWN_CODE_SECONDS = 300


def code_set_lookup(code: object, *, client: str) -> CodeSet:
    """code_set_for for a citizen's client: a wrong code counts against the client's
    hourly limit (a right one gives its attempt back), so codes cannot be tried in bulk.
    A code found right recently is no guess: the cache remembers its set's id (under the
    code's keyed hash, no personal data) and the count is skipped, which makes the polls
    of a 2021 client cheap."""
    code = normalise_code(code)
    known_key = f"code-known:{keyed_hash('booking-code', code)}"
    known = cache.get(known_key)
    if known is not None:
        code_set = CodeSet.objects.select_related("vaccine", "pin_request").filter(pk=known).first()
        if code_set is not None:
            return code_set
    attempt_take([(CODE_LOOKUPS_PER_CLIENT, client)])
    code_set = code_set_for(code)
    attempt_give_back(CODE_LOOKUPS_PER_CLIENT, client)
    cache.set(known_key, code_set.pk, KNOWN_CODE_SECONDS)
    return code_set


def code_group_district_id(code_set: CodeSet) -> int | None:
    """The district whose centres alone the codes book (requested through the 2021
    protocol at a centre there); None: any district of the region (R9 decides)."""
    return code_set.pin_request.district_id if code_set.pin_request_id else None


def _check_can_book(code_sets: list[CodeSet], district_id: object) -> District:
    """Say plainly when a person already has a booking (the engine's unique index still
    decides a race), and keep the booking in the codes' region (R9) and, for codes of a
    centre group, in its district."""
    if any_live_pair(holders=[s.holder for s in code_sets]):
        raise ServiceError("holder_has_live_pair", HOLDER_HAS_LIVE_PAIR, field="code")
    district = get_district(district_id, region_id=code_sets[0].region_id)
    for code_set in code_sets:
        check_code_district(code_set, district)
    return district


def check_code_district(code_set: CodeSet, district: District) -> None:
    """Codes of a centre group (the 2021 protocol) book only in its district, on every
    channel and on the standby list."""
    group = code_group_district_id(code_set)
    if group is not None and group != district.pk:
        raise ServiceError(
            "code_other_group",
            _(
                "Mit diesem Code können Sie nur in den Impfzentren des Kreises buchen, für den Sie ihn angefordert haben."
            ),
            field="code",
        )


def code_book_pair(
    *,
    code: str,
    district_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    allow_first_only: bool = False,
    channel: str = "online",
) -> BookingResult:
    """Book the pair of the person a code belongs to, in their district (R9, R12)."""
    code_set = code_set_for(code)
    district = _check_can_book([code_set], district_id)
    return pair_book(
        holder=code_set.holder,
        district_id=district.pk,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        allow_first_only=allow_first_only,
        channel=channel,
        on_booked=lambda pairs, _replaced: after_booking([code_set], pairs),
        vaccine_id=code_set.vaccine_id,
        single_dose=code_set.single_dose,  # one code, one appointment (R27)
    )


def after_booking(
    code_sets: list[CodeSet], pairs: list[AppointmentPair], *, rebooked: bool = False
) -> None:
    """In the booking's transaction: confirm by mail, and leave the standby list (R8);
    an open offer passes its seat on. A rebook frees seats: the list may get them."""
    for code_set, pair in zip(code_sets, pairs, strict=True):
        if code_set.email:  # R1: a phone booking without e-mail gets no mail
            send_booking_confirmation(code_set, pair, rebooked=rebooked)
    _standby_leave(code_sets, StandbyStatus.BOOKED)
    if rebooked:
        make_standby_offers.enqueue()


def _standby_leave(code_sets: list[CodeSet], status: str) -> None:
    """Off the standby list with `status`; an open offer expires (its seat passes on)."""
    live = StandbyEntry.objects.filter(code_set__in=code_sets, status__in=STANDBY_ON_THE_LIST)
    StandbyOffer.objects.filter(entry__in=live, status=StandbyOfferStatus.OPEN).update(
        status=StandbyOfferStatus.EXPIRED
    )
    live.update(status=status)


def codes_book_adjacent(
    *,
    codes: list[str],
    district_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    channel: str = "online",
) -> BookingResult:
    """Couples and households: one code per person, pairs side by side (R7)."""
    if not isinstance(codes, list | tuple) or not codes:
        raise ServiceError("code_format", CODE_FORMAT, field="codes")
    code_sets = [code_set_for(code) for code in codes]
    if len({s.pk for s in code_sets}) != len(code_sets):
        raise ServiceError(
            "code_repeated", _("Jede Person kann nur einmal gebucht werden."), field="codes"
        )
    district = _check_can_book(code_sets, district_id)

    return pairs_book_adjacent(
        holders=[s.holder for s in code_sets],
        district_id=district.pk,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        channel=channel,
        on_booked=lambda pairs, _replaced: after_booking(code_sets, pairs),
        vaccine_id=code_sets[0].vaccine_id,  # one for all (booking_party)
    )


@dataclass(frozen=True)
class PhoneBooking:
    result: BookingResult  # booked pairs, or after a lost race the next free options
    people: list[PhoneCodes]  # one code set per person; empty when nothing was booked


class _NothingBooked(Exception):
    def __init__(self, result: BookingResult):
        self.result = result


def codes_book_by_phone(
    *,
    region_id: int,
    vaccine_id: int,
    party_size: int,
    district_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    email: str = "",
    language: str = "de",
) -> PhoneBooking:
    """An agent books for a caller (R1: the same engine and capacity as online): one code
    set per person, and their pairs — side by side for 2 to 4 people (R7). All or nothing: a
    lost race (R11) leaves no codes behind and returns the next free options."""
    if not isinstance(party_size, int) or not 1 <= party_size <= MAX_CODES_PER_BOOKING:
        raise ServiceError("party_size", PARTY_SIZE, field="party_size")
    try:
        with transaction.atomic():
            people = [
                code_set_issue_by_phone(
                    region_id=region_id, vaccine_id=vaccine_id, email=email, language=language
                )
                for _person in range(party_size)
            ]
            codes = [person.codes[0] for person in people]
            if party_size == 1:
                result = code_book_pair(
                    code=codes[0],
                    district_id=district_id,
                    first_slot_id=first_slot_id,
                    second_slot_id=second_slot_id,
                    allow_first_only=True,  # R6: the second is then booked at the centre
                    channel="phone",
                )
            else:
                result = codes_book_adjacent(
                    codes=codes,
                    district_id=district_id,
                    first_slot_id=first_slot_id,
                    second_slot_id=second_slot_id,
                    channel="phone",
                )
            if not result.booked:
                raise _NothingBooked(result)  # rolls the codes back
    except _NothingBooked as nothing:
        return PhoneBooking(result=nothing.result, people=[])
    return PhoneBooking(result=result, people=people)


def code_booking(*, code: str) -> AppointmentPair | None:
    """'Prüfung Terminreservierung' (R10): the person's booked pair, if any."""
    return live_pair_for(holder=code_set_for(code).holder)


def code_live_pair(*, code_set: CodeSet) -> AppointmentPair:
    """The person's booked pair; refused when the code has none."""
    pair = live_pair_for(holder=code_set.holder)
    if pair is None:
        raise ServiceError(
            "no_booking", _("Mit diesem Code ist kein Termin gebucht."), field="code"
        )
    return pair


def code_rebook(
    *,
    code: str,
    first_slot_id: int,
    second_slot_id: int | None = None,
    together_with: list[str] | tuple[str, ...] = (),
    channel: str = Channel.ONLINE,
) -> BookingResult:
    """Move the person's pair (R4: with the code); the new pair is claimed before the old
    one is given up. `together_with`: the codes of people booked with them (R7), who move
    too, side by side at the same new times, or nobody moves."""
    code_set = code_set_for(code)
    pair = code_live_pair(code_set=code_set)
    if not together_with:
        return pair_rebook(
            pair_id=pair.pk,
            holder=code_set.holder,
            first_slot_id=first_slot_id,
            second_slot_id=second_slot_id,
            channel=channel,
            on_booked=lambda pairs, _replaced: after_booking([code_set], pairs, rebooked=True),
            vaccine_id=code_set.vaccine_id or pair.vaccine_id,
        )
    if not isinstance(together_with, list | tuple) or len(together_with) >= MAX_CODES_PER_BOOKING:
        raise ServiceError("party_size", PARTY_SIZE, field="codes")
    code_sets = [code_set, *(code_set_for(other) for other in together_with)]
    _same_party(code_sets)
    pairs = [pair, *(code_live_pair(code_set=s) for s in code_sets[1:])]
    if len({p.vaccine_id for p in pairs}) > 1:
        raise ServiceError("codes_other_vaccine", OTHER_VACCINE, field="codes")
    if len({p.centre.district_id for p in pairs}) > 1:  # R9: each stays in their district
        raise ServiceError("codes_other_district", OTHER_DISTRICT, field="codes")
    return pairs_book_adjacent(
        holders=[s.holder for s in code_sets],
        district_id=pair.centre.district_id,  # where they were booked (R9)
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        channel=channel,
        on_booked=lambda new, _replaced: after_booking(code_sets, new, rebooked=True),
        vaccine_id=pair.vaccine_id,
        single_dose=code_set.single_dose,
        replacing=[(p.pk, s.holder) for p, s in zip(pairs, code_sets, strict=True)],
    )


def code_cancel(*, code: str) -> AppointmentPair:
    """Cancel the person's pair (R4); the seats are free at once, and the person gets a
    confirmation by e-mail (written in the same transaction)."""
    code_set = code_set_for(code)
    with transaction.atomic():
        live = code_live_pair(code_set=code_set)
        # After the first dose the second is changed at the centre (as for registrations).
        refusal = in_progress_refusal(list(live.appointments.all()))
        if refusal is not None:
            raise refusal
        pair = pair_cancel(pair_id=live.pk, holder=code_set.holder)
        if code_set.email:  # R1: none without an address
            send_cancellation(code_set, pair)
        make_standby_offers.enqueue()  # R8: the freed seats go to the standby list
    return pair


def _same_party(code_sets: list[CodeSet]) -> None:
    """People who book or move together (R7): each once, of one region and one vaccine."""
    if len({s.pk for s in code_sets}) != len(code_sets):
        raise ServiceError(
            "code_repeated", _("Jede Person kann nur einmal gebucht werden."), field="codes"
        )
    if len({s.region_id for s in code_sets}) > 1:
        raise ServiceError(
            "codes_other_region",
            _("Gemeinsam buchen können nur Personen derselben Region."),
            field="codes",
        )
    vaccines = {s.vaccine_id for s in code_sets}
    doses = {s.single_dose for s in code_sets}
    if len(vaccines) > 1 or len(doses) > 1:
        raise ServiceError("codes_other_vaccine", OTHER_VACCINE, field="codes")


def booking_party(*, code_sets: list[CodeSet]) -> Vaccine | None:
    """Check that these people can book together (R7): each once, all of one region and
    one vaccine, none with a booking yet. Returns their vaccine (None: not chosen)."""
    _same_party(code_sets)
    if any_live_pair(holders=[s.holder for s in code_sets]):
        raise ServiceError("holder_has_live_pair", HOLDER_HAS_LIVE_PAIR, field="codes")
    return code_sets[0].vaccine


@transaction.atomic
def code_no_show_release(*, pair_id: int, holder: str) -> bool:
    """A booking code's pair is given up after a missed first appointment (issue 7): the
    pair is cancelled, the person told by e-mail when they gave one (R1), and the freed
    seats offered to the standby list (R8). False: the holder is not a code set."""
    prefix, _sep, pk = holder.partition(":")
    code_set = (
        CodeSet.objects.filter(pk=int(pk)).first() if prefix == "codes" and pk.isdigit() else None
    )
    if code_set is None:
        return False
    pair = pair_cancel(pair_id=pair_id, holder=holder)
    if code_set.email:
        send_cancellation(code_set, pair)
    make_standby_offers.enqueue()
    return True


# --- retention (issue 10) ------------------------------------------------------------------


@transaction.atomic
def code_sets_contact_expire(*, now: dt.datetime | None = None) -> int:
    """The e-mail address and mobile number of a code set are erased once they are no
    longer needed: RETENTION_CONTACT_DAYS after its last appointment (all of them past),
    or RETENTION_UNUSED_DAYS after it was issued when it never booked; never while it is
    on the standby list (offers go to that number). The codes stay valid for a check and
    the pairs for statistics. Returns how many sets were erased."""
    now = now or timezone.now()
    holder = Concat(Value("codes:"), Cast(OuterRef("pk"), CharField()))
    standing_by = StandbyEntry.objects.filter(
        code_set=OuterRef("pk"), status__in=STANDBY_ON_THE_LIST
    )
    done = (
        CodeSet.objects.filter(Q(email__gt="") | Q(pin_request__mobile__startswith="+"))
        .annotate(last=last_appointment_start(holder), standing_by=Exists(standing_by))
        .filter(standing_by=False)
        .filter(
            Q(last__lt=now - dt.timedelta(days=settings.RETENTION_CONTACT_DAYS))
            | Q(
                last__isnull=True,
                created_at__lt=now - dt.timedelta(days=settings.RETENTION_UNUSED_DAYS),
            )
        )
    )
    ids = list(done.values_list("pk", flat=True))
    _contact_erase(ids)
    return len(ids)


def _contact_erase(code_set_ids: list[int]) -> None:
    CodeSet.objects.filter(pk__in=code_set_ids).update(email="")
    _pin_requests_erase(PinRequest.objects.filter(code_set__in=code_set_ids))


def _pin_requests_erase(pin_requests) -> int:
    """The number and address of these PIN requests, except today's: the day's PIN count
    and sequence per number (R3) need them until midnight; the nightly run takes them.
    "-" and the row's id: no number (E.164 starts with "+"), unique as the count needs."""
    return (
        pin_requests.filter(day__lt=timezone.localdate())
        .exclude(mobile__startswith="-")
        .update(mobile=Concat(Value("-"), Cast("pk", CharField())), email="")
    )


def pin_requests_expire() -> int:
    """Nightly: PIN requests of earlier days that never became codes (the link was not
    confirmed), and those of code sets erased on request that day, lose their number and
    address. How many."""
    return _pin_requests_erase(
        PinRequest.objects.filter(
            Q(code_set__isnull=True)
            | Q(code_set__email="", code_set__channel=CodeSetChannel.ONLINE)
        )
    )


def code_set_erase(*, code: str) -> CodeSet:
    """GDPR Art. 17 on request, with the code: a booked pair is cancelled first (the seats
    free at once, the confirmation goes to the address while there is one), the standby
    list is left, and the e-mail address and mobile number are erased (a number used for
    a PIN today in the night). The codes stay: they name no one. Once vaccinated, the doses
    stay on record; refused while a dose is given and the next is still booked (that one is
    changed at the centre)."""
    code_set = code_set_for(code)
    with transaction.atomic():
        pair = live_pair_for(holder=code_set.holder)
        if pair is not None and pair.appointments.filter(status=AppointmentStatus.BOOKED).exists():
            code_cancel(code=code)  # refused while a dose is given and another still booked
        _standby_leave([code_set], StandbyStatus.EXPIRED)
        _contact_erase([code_set.pk])
        messages_erase(holder=code_set.holder)
        make_standby_offers.enqueue()  # an open offer's seat passes on
    code_set.refresh_from_db()
    return code_set
