"""Registration and assignment (the Hessen way, R13 to R18): a person registers (online with
a password, or by phone without one), gets a Vorgangskennung, is checked against the
population register (R14), waits in the pool of their centre and is assigned a pair by
the assignment engine, first come first served."""

from __future__ import annotations

import datetime as dt
import unicodedata
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, Value, prefetch_related_objects
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from impftermin.booking.messages import pair_confirmation, send_pair_cancellation
from impftermin.booking.models import AppointmentPair, Channel, PairStatus
from impftermin.booking.selectors import (
    booked_appointments,
    day_start,
    first_dose_candidates,
    in_progress_refusal,
    last_appointment_start,
    live_pair_for,
    live_pairs_for,
    local_today,
    rebook_refusal,
)
from impftermin.booking.services import (
    HOLDER_HAS_LIVE_PAIR,
    AssignmentRequest,
    BookingResult,
    pair_book,
    pair_cancel,
    pair_rebook,
    pairs_assign,
    pairs_book_adjacent,
)
from impftermin.centres.selectors import centre_offers, get_centre, get_vaccine
from impftermin.core import identifiers
from impftermin.core.contact import normalise_mobile
from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import keyed_hash
from impftermin.core.passwords import password_hash
from impftermin.core.throttle import Limit, attempt_give_back, attempt_take
from impftermin.core.validation import as_id
from impftermin.notifications.services import Message, messages_erase, messages_send_later
from impftermin.regions.models import BookingMode, Region
from impftermin.regions.selectors import districts_for_postcode, get_region_in_mode
from impftermin.registrations.letters import letters_issue
from impftermin.registrations.models import (
    LetterReason,
    Registration,
    RegistrationStatus,
    Residence,
)
from impftermin.registrations.register import PersonData, comparable, register_check
from impftermin.registrations.tasks import notify_assignments
from impftermin.vaccines.selectors import vaccine_eligibility

VORGANGSKENNUNG_LENGTH = 12  # 11 random characters and a check character
# People per assignment transaction: larger batches assign faster, but hold their slots'
# row locks longer, and an online booking of one of those slots waits that long.
ASSIGN_BATCH = settings.ASSIGNMENT_BATCH_SIZE


def vorgangskennung_new() -> str:
    body = identifiers.random_string(VORGANGSKENNUNG_LENGTH - 1)
    return body + identifiers.check_character(body)


def normalise_vorgangskennung(text: object) -> str:
    value = identifiers.normalised(text, VORGANGSKENNUNG_LENGTH)
    if value is None or not identifiers.has_valid_check(value):
        raise ServiceError(
            "vorgangskennung_format",
            _("Eine Vorgangskennung hat 12 Zeichen, z. B. ABCD-EFGH-JKMN. Bitte prüfen Sie sie."),
            field="vorgangskennung",
        )
    return value


def _text(value: object, field: str, label, max_length: int) -> str:
    """A name or address line: required, printable, not longer than the column."""
    if not isinstance(value, str) or not value.strip():
        raise ServiceError(
            "required", _("Bitte geben Sie %(label)s an."), field=field, label=str(label)
        )
    value = " ".join(value.split())
    if len(value) > max_length or any(unicodedata.category(c).startswith("C") for c in value):
        raise ServiceError(
            "text_invalid", _("Bitte prüfen Sie %(label)s."), field=field, label=str(label)
        )
    return value


def _identity_key(first_name: str, last_name: str, birth_date: dt.date) -> str:
    """The same person however the name is written, as the register compares names."""
    return keyed_hash(
        "registration-identity", f"{comparable(last_name)}|{comparable(first_name)}|{birth_date}"
    )


REGISTRATIONS_PER_CLIENT = Limit("registration-client", 10, dt.timedelta(hours=1))

# Finding a registration by Vorgangskennung and date of birth (R20): against guessing one
# person's date of birth, whoever asks (the call center, partner systems).
LOOKUPS_PER_VORGANGSKENNUNG = Limit("console-registration-target", 5, dt.timedelta(minutes=15))
LOOKUP_NOT_FOUND = _(
    "Zu dieser Vorgangskennung und diesem Geburtsdatum gibt es keine Registrierung. Bitte prüfen Sie beide Angaben."
)


def registration_find(
    *, vorgangskennung: object, birth_date: object, asker: tuple[Limit, str]
) -> Registration:
    """The live registration with this Vorgangskennung AND this date of birth (R20), for
    the caller that asks (`asker`: its own limit and key). Every attempt counts first
    against the asker and the Vorgangskennung, so parallel attempts cannot slip past; a
    success gives it back; an unknown Vorgangskennung and a wrong date read the same. A
    mistyped Vorgangskennung (wrong check character) is no attempt."""
    from impftermin.registrations.selectors import registration_for_caller  # reads services

    value = normalise_vorgangskennung(vorgangskennung)
    checks = [asker, (LOOKUPS_PER_VORGANGSKENNUNG, value)]
    attempt_take(checks)
    registration = registration_for_caller(value, birth_date)
    if registration is None:
        raise ServiceError("not_found", LOOKUP_NOT_FOUND, field="vorgangskennung")
    for limit, key in checks:
        attempt_give_back(limit, key)
    return registration


def registration_create(
    *,
    region_id: int,
    first_name: str,
    last_name: str,
    birth_date: object,
    street: str,
    postcode: str,
    city: str,
    residence: str,
    centre_id: int,
    vaccine_id: int,
    email: str = "",
    mobile: str = "",
    single_dose: bool = False,
    for_someone_else: bool = False,
    password: str | None = None,
    channel: str = Channel.ONLINE,
    language: str = "de",
    client: str | None = None,
) -> Registration:
    """Register a person (R13, R15): online with a password (Argon2), by phone without
    (R21). The same person twice is refused; the population register decides whether the
    registration waits for an appointment or is held for an operator's review (R14).
    `client` (online: the IP address) limits how many registrations one client tries an
    hour: each is a question to the register."""
    region = get_region_in_mode(
        region_id=region_id,
        mode=BookingMode.ASSIGNMENT,
        refusal=_("In dieser Region gibt es keine Registrierung."),
    )
    if client is not None:
        # Each attempt asks the population register about a person: not without limit.
        attempt_take([(REGISTRATIONS_PER_CLIENT, client)])
    if channel not in (Channel.ONLINE, Channel.PHONE, Channel.API):
        raise ServiceError("channel_invalid", _("Unbekannter Buchungsweg."), field="channel")
    first_name = _text(first_name, "first_name", _("Ihren Vornamen"), 100)
    last_name = _text(last_name, "last_name", _("Ihren Nachnamen"), 100)
    street = _text(street, "street", _("Straße und Hausnummer"), 150)
    city = _text(city, "city", _("Ihren Wohnort"), 100)
    if residence not in Residence.values:
        raise ServiceError(
            "residence_invalid",
            _("Bitte wählen Sie Haupt- oder Nebenwohnsitz."),
            field="residence",
        )
    districts = districts_for_postcode(region_id=region.pk, postcode=postcode)
    centre = get_centre(centre_id)
    if centre.district_id not in {d.pk for d in districts} or not centre.active:
        raise ServiceError(
            "centre_not_in_district",
            _("Bitte wählen Sie ein Impfzentrum Ihres Kreises."),
            field="centre",
        )
    district = next(d for d in districts if d.pk == centre.district_id)
    eligibility = vaccine_eligibility(district=district, birth_date=birth_date)
    vaccine = get_vaccine(vaccine_id)
    if vaccine not in eligibility.vaccines or not centre_offers(
        centre_id=centre.pk, vaccine_id=vaccine.pk
    ):
        raise ServiceError(
            "vaccine_not_eligible",
            _("Dieser Impfstoff kann Ihnen nicht angeboten werden."),
            field="vaccine",
        )
    if not isinstance(email, str) or not isinstance(language, str):
        raise ServiceError(
            "email_invalid", _("Bitte geben Sie eine gültige E-Mail-Adresse an."), field="email"
        )
    if email:
        try:
            if len(email) > 254:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            raise ServiceError(
                "email_invalid", _("Bitte geben Sie eine gültige E-Mail-Adresse an."), field="email"
            ) from None
    mobile = normalise_mobile(mobile) if mobile else ""
    hashed = ""
    # Online a password is required; a partner's portal (API) may pass one on.
    if channel == Channel.ONLINE or (channel == Channel.API and password):
        person = SimpleNamespace(first_name=first_name, last_name=last_name, email=email)
        hashed = password_hash(password, person)
    person = PersonData(first_name, last_name, birth_date, street, postcode.strip(), city)
    answer = register_check(person)
    try:
        with transaction.atomic():
            registration = Registration.objects.create(
                vorgangskennung=vorgangskennung_new(),
                region=region,
                district=district,
                centre=centre,
                vaccine=vaccine,
                single_dose=bool(single_dose) or vaccine.doses == 1,
                first_name=first_name,
                last_name=last_name,
                birth_date=birth_date,
                street=street,
                postcode=person.postcode,
                city=city,
                residence=residence,
                email=email.strip() if email else "",
                mobile=mobile,
                for_someone_else=bool(for_someone_else),
                password=hashed,
                channel=channel,
                language=language if language in dict(settings.LANGUAGES) else "de",
                identity_key=_identity_key(first_name, last_name, birth_date),
                status=RegistrationStatus.WAITING
                if answer.confirmed
                else RegistrationStatus.REVIEW,
                review_reason=answer.reason[:200],
            )
    except IntegrityError:
        raise ServiceError(
            "duplicate_registration",
            _(
                "Für diese Person gibt es schon eine Registrierung. Bei Fragen hilft Ihnen die Hotline."
            ),
            field="last_name",
        ) from None
    return registration


@transaction.atomic
def registration_review_decide(*, registration_id: int, confirm: bool) -> Registration:
    """An operator's decision on a registration the register did not confirm (R14):
    confirmed, it joins the pool; refused, it is deleted and its personal data erased."""
    pk = as_id(
        registration_id,
        code="unknown_registration",
        message=_("Diese Registrierung gibt es nicht."),
        field="registration",
    )
    registration = (
        Registration.objects.select_for_update()
        .filter(pk=pk, status=RegistrationStatus.REVIEW)
        .first()
    )
    if registration is None:
        raise ServiceError(
            "not_in_review",
            _("Diese Registrierung wartet auf keine Prüfung."),
            field="registration",
        )
    if confirm:
        registration.status = RegistrationStatus.WAITING
        registration.review_reason = ""
        registration.save(update_fields=["status", "review_reason"])
        return registration
    _erase(registration)
    return registration


def _erase(registration: Registration) -> None:
    """Deleted (R23): out of the pool for good, personal data gone; the row keeps only
    what statistics and the unique Vorgangskennung need. A couple (R19) is dissolved: the
    caller has locked the partner's row too."""
    Registration.objects.filter(partner=registration).update(partner=None)
    registration.partner = None
    registration.status = RegistrationStatus.DELETED
    registration.deleted_at = timezone.now()
    registration.first_name = registration.last_name = ""
    registration.street = registration.city = ""
    registration.email = registration.mobile = registration.password = ""
    registration.birth_date = dt.date(1900, 1, 1)
    registration.identity_key = keyed_hash("registration-deleted", registration.vorgangskennung)
    registration.save()
    messages_erase(holder=registration.holder)


def registrations_assign(*, region_id: int | None = None, batch_size: int = ASSIGN_BATCH) -> int:
    """The assignment task (R16): waiting registrations, first come first served (by
    priority group, then time of registration), get pairs at their centre through the
    booking engine, within their region's release window; whoever finds none stays
    waiting. A couple (R19) gets pairs side by side at the same times, or neither does.
    Parallel runs take different people (row locks, skip locked). The e-mails are
    composed by a task enqueued with each batch. Returns how many were assigned."""
    regions = Region.objects.filter(booking_mode=BookingMode.ASSIGNMENT)
    if region_id is not None:
        regions = regions.filter(pk=region_id)
    return sum(_assign_region(region, batch_size) for region in regions)


def _assign_region(region: Region, batch_size: int) -> int:
    _pool_again_without_pair(region)
    assigned = 0
    unlucky: set[int] = set()  # found no pair in this run: not tried again until the next
    full = Q(pk__in=[])  # centres and vaccines with nothing left in this run
    exhausted: set[tuple[int, int]] = set()
    while True:
        with transaction.atomic():
            batch = list(
                Registration.objects.select_for_update(skip_locked=True)
                .filter(region=region, status=RegistrationStatus.WAITING)
                .exclude(pk__in=unlucky)
                .exclude(full)
                .order_by("priority_group", "created_at", "id")
                .values_list("pk", "centre_id", "vaccine_id", "single_dose", "partner_id")[
                    :batch_size
                ]
            )
            if not batch:
                return assigned
            requests, people = _assignment_requests(batch, unlucky)
            pairs = pairs_assign(requests=requests, window_days=region.release_days_ahead)
            done = [pk for pk in people if Registration.holder_of(pk) in pairs]
            Registration.objects.filter(pk__in=done).update(status=RegistrationStatus.ASSIGNED)
            if done:
                notify_assignments.enqueue(done)
        assigned += len(done)
        unlucky.update(pk for pk in people if Registration.holder_of(pk) not in pairs)
        # A centre and vaccine is full for this run when one person alone found nothing
        # there; a couple that found no two seats side by side leaves it open for others.
        tried = {(r.centre_id, r.vaccine_id) for r in requests if r.partner is None}
        served = {(r.centre_id, r.vaccine_id) for r in requests if r.holder in pairs}
        for centre, vaccine in tried - served - exhausted:
            exhausted.add((centre, vaccine))
            full |= Q(centre_id=centre, vaccine_id=vaccine)


def _pool_again_without_pair(region: Region) -> int:
    """Assigned registrations whose pair was cancelled elsewhere (an operator in the
    back office, the centre) go back into the pool instead of waiting for nothing (R22).
    Their rows are locked and skipped when busy, as the assignment does."""
    holder = Concat(Value("reg:"), Cast(OuterRef("pk"), CharField()))
    with transaction.atomic():
        ids = list(
            Registration.objects.select_for_update(skip_locked=True)
            .filter(region=region, status=RegistrationStatus.ASSIGNED)
            .exclude(
                Exists(AppointmentPair.objects.filter(holder=holder, status=PairStatus.BOOKED))
            )
            .values_list("pk", flat=True)
        )
        return Registration.objects.filter(pk__in=ids).update(status=RegistrationStatus.WAITING)


def _assignment_requests(
    batch: list[tuple[int, int, int, bool, int | None]], unlucky: set[int]
) -> tuple[list[AssignmentRequest], list[int]]:
    """The batch's rows as the engine's requests, and every registration involved. A
    couple (R19) is one request, at the place of whichever of the two came first. A partner
    outside the batch is locked here (skip locked: when another run or a change of the
    couple holds it, the couple waits for the next run); a partner that is not waiting (in
    review, assigned, deleted) or does not match keeps the couple out of this run."""
    rows = {row[0]: row for row in batch}
    outside = [row[4] for row in batch if row[4] is not None and row[4] not in rows]
    if outside:
        rows |= {
            row[0]: row
            for row in Registration.objects.select_for_update(skip_locked=True)
            .filter(pk__in=outside, status=RegistrationStatus.WAITING)
            .exclude(pk__in=unlucky)
            .values_list("pk", "centre_id", "vaccine_id", "single_dose", "partner_id")
        }
    requests: list[AssignmentRequest] = []
    people: list[int] = []
    taken: set[int] = set()
    for pk, centre, vaccine, single, partner_id in batch:
        if pk in taken:
            continue
        holder = Registration.holder_of(pk)
        if partner_id is None:
            requests.append(AssignmentRequest(holder, centre, vaccine, single))
            people.append(pk)
            continue
        taken.add(partner_id)
        partner = rows.get(partner_id)  # locked by this run, if there
        people += [pk] if partner is None else [pk, partner_id]
        if partner is None or partner[1:] != (centre, vaccine, single, pk):
            continue  # not assignable together now: both wait
        requests.append(
            AssignmentRequest(
                holder, centre, vaccine, single, partner=Registration.holder_of(partner_id)
            )
        )
    return requests, people


MANAGE_BY_PHONE = _(
    "Verschieben oder stornieren können Sie Ihre Termine über die Hotline; halten Sie Ihre Vorgangskennung bereit. Informationen: %(link)s"
)
ASSIGNED_INTRO = _("Ihnen wurden diese Impftermine zugewiesen:")
MANAGE_BY_LOGIN = _(
    "Mit Ihrer Vorgangskennung und Ihrem Passwort sehen Sie Ihre Termine und können sie verschieben: %(link)s"
)


@transaction.atomic
def assignments_notify(*, registration_ids: list[int]) -> int:
    """R16: each assignment by e-mail, with how to log in (the task enqueued by the
    assignment's transaction); without e-mail by letter, printed with the next daily
    batch (R17). Returns how many mails were queued."""
    letters_issue(registration_ids=registration_ids, reason=LetterReason.ASSIGNED)
    mailed = list(
        Registration.objects.filter(
            pk__in=registration_ids, status=RegistrationStatus.ASSIGNED
        ).exclude(email="")
    )
    pairs = live_pairs_for(holders=[r.holder for r in mailed])
    mailed = [r for r in mailed if r.holder in pairs]
    by_holder = {r.holder: pairs[r.holder] for r in mailed}
    prefetch_related_objects(list(by_holder.values()), "centre", "vaccine", "appointments__slot")
    messages_send_later(
        [
            pair_confirmation(
                recipient=r.email,
                language=r.language,
                pair=by_holder[r.holder],
                manage=_manage(r),
                intro=ASSIGNED_INTRO,
                calendar_file=False,  # a notification; the documents are behind the log-in
            )
            for r in mailed
        ]
    )
    return len(mailed)


# --- the person's own changes (R20, R22, R23); who may make them is checked by the caller:
# the account (Vorgangskennung and password) or the call center (and date of birth) ------

UNKNOWN_REGISTRATION = _("Diese Registrierung gibt es nicht.")
NO_PAIR = _("Für diese Registrierung ist kein Termin gebucht.")


def _live_pair(registration: Registration):
    pair = live_pair_for(holder=registration.holder)
    if pair is None:
        raise ServiceError("no_booking", NO_PAIR, field="registration")
    return pair


NOT_YET_CONFIRMED = _(
    "Ihre Registrierung wird noch geprüft. Termine gibt es, sobald sie bestätigt ist."
)


def registration_book(
    *,
    registration_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    channel: str = Channel.ONLINE,
):
    """R18: a waiting registration picks its pair itself (at its district's centres, with
    its vaccine and single-dose choice) instead of waiting for the assignment; a couple
    (R19) gets pairs side by side. The rows are locked as the assignment locks them, so
    the two never both give someone a pair."""
    return _book_chosen(registration_id, first_slot_id, second_slot_id, channel, moving=False)


POOL_AGAIN = _(
    "Sie bleiben registriert und bekommen neue Termine zugewiesen. Informationen: %(link)s"
)


@transaction.atomic
def registration_pair_cancel(*, registration_id: int) -> Registration:
    """R22: cancel the appointments; the registration stays in the pool and will be
    assigned new ones. The seats are free at once. Of a couple (R19) only this person's
    pair is cancelled (appointments are personal, R24) and the couple is dissolved: the
    partner keeps their pair, and this person is assigned alone."""
    registration, partner = _locked_couple(registration_id)
    pair = _live_pair(registration)
    # After the first dose, a new pair from the pool would be a second first dose.
    refusal = in_progress_refusal(list(pair.appointments.all()))
    if refusal is not None:
        raise refusal
    _cancel_back_to_pool(registration, partner, pair.pk)
    return registration


def _cancel_back_to_pool(
    registration: Registration, partner: Registration | None, pair_id: int
) -> AppointmentPair:
    """Inside the caller's transaction, with both rows locked: cancel the pair (its seats
    free at once), dissolve a couple (the partner keeps their pair), put the registration
    back into the pool, and tell the person when they gave an e-mail address."""
    pair = pair_cancel(pair_id=pair_id, holder=registration.holder)
    if partner is not None:
        _uncouple(registration, partner)
    registration.status = RegistrationStatus.WAITING
    registration.save(update_fields=["status"])
    if registration.email:
        send_pair_cancellation(
            recipient=registration.email,
            language=registration.language,
            pair=pair,
            again=(POOL_AGAIN, _manage(registration)[1]),
        )
    return pair


def registration_rebook(
    *,
    registration_id: int,
    first_slot_id: int,
    second_slot_id: int | None = None,
    channel: str = Channel.ONLINE,
):
    """R20: move the pair into the future, at the latest the region's cut-off (3 days)
    before the appointment, in the person's district with their vaccine. A couple (R19)
    moves together: both pairs to the chosen slots side by side (they need room for two),
    or neither moves."""
    return _book_chosen(registration_id, first_slot_id, second_slot_id, channel, moving=True)


def _book_chosen(
    registration_id: object,
    first_slot_id: object,
    second_slot_id: object | None,
    channel: str,
    *,
    moving: bool,
):
    with transaction.atomic():
        registration, partner = _locked_couple(registration_id)
        if registration.status == RegistrationStatus.REVIEW:
            raise ServiceError("not_confirmed", NOT_YET_CONFIRMED, field="registration")
        people = [registration] if partner is None else [registration, partner]
        current = _live_pairs(people)
        if moving and registration.holder not in current:
            raise ServiceError("no_booking", NO_PAIR, field="registration")
        if not moving and registration.holder in current:
            raise ServiceError("holder_has_live_pair", HOLDER_HAS_LIVE_PAIR, field="registration")
        return _book_together(
            people,
            current,
            first_slot_id,
            second_slot_id,
            channel=channel,
            on_booked=lambda pairs, _replaced: _booked_together(people, current, pairs),
        )


def _confirm_pair(
    registration: Registration, pair, *, rebooked: bool, short_notice: bool = False
) -> None:
    """Tell the person of a pair they chose (R18), moved (R20) or got at short notice
    (R25): by e-mail, or else by letter (R17). Called in the booking's transaction."""
    if not registration.email:
        reason = LetterReason.REBOOKED if rebooked else LetterReason.ASSIGNED
        letters_issue(
            registration_ids=[registration.pk],
            reason=LetterReason.SHORT_NOTICE if short_notice else reason,
        )
        return
    intro = None
    if short_notice:
        intro = SHORT_NOTICE_MOVED_INTRO if rebooked else SHORT_NOTICE_INTRO
    messages_send_later(
        [
            pair_confirmation(
                recipient=registration.email,
                language=registration.language,
                pair=pair,
                manage=_manage(registration),
                rebooked=rebooked,
                **({"intro": intro} if intro else {}),
            )
        ]
    )


def _manage(registration: Registration) -> tuple:
    """How the person manages the pair, with the link: the log-in page in their language
    for registrations with a password, the start page (hotline, information) for those
    without (R21: by phone, or through a partner's portal without one)."""
    with translation.override(registration.language):
        path = reverse("registrations:log_in" if registration.password else "home")
    return _manage_text(registration), settings.SITE_URL.rstrip("/") + path


def _manage_text(registration: Registration):
    # R21: phone registrations have no password; they call.
    return MANAGE_BY_LOGIN if registration.password else MANAGE_BY_PHONE


DELETED_TEXT = _(
    "Guten Tag,\n\nIhre Registrierung %(vorgangskennung)s ist gelöscht. Sie bekommen keine "
    "Termine mehr zugewiesen; gebuchte Termine sind storniert. Ihre persönlichen Daten haben "
    "wir entfernt.\n\nSie können sich jederzeit neu registrieren."
)


@transaction.atomic
def registration_delete(*, registration_id: int) -> Registration:
    """R23: the registration leaves the pool for good; a booked pair is cancelled (seats
    free at once), a confirmation goes out, and the personal data are erased. A couple
    (R19) is dissolved; the partner keeps their pair."""
    registration, _partner = _locked_couple(registration_id)  # _erase unlinks the partner
    pair = live_pair_for(holder=registration.holder)
    if pair is not None:
        pair_cancel(pair_id=pair.pk, holder=registration.holder)
    if registration.email:
        with translation.override(registration.language):
            messages_send_later(
                [
                    Message(
                        channel="email",
                        kind="registration_deleted",
                        recipient=registration.email,
                        subject=str(_("Ihre Registrierung ist gelöscht")),
                        body=str(DELETED_TEXT)
                        % {"vorgangskennung": identifiers.grouped(registration.vorgangskennung)},
                        language=registration.language,
                        holder=registration.holder,
                    )
                ]
            )
    _erase(registration)
    return registration


# --- couples (R19) and short-notice offers (R25) ------------------------------------------

# A slot the system books for someone starts at least this late, so that they can get there.
BOOKING_LEAD = dt.timedelta(hours=1)
EARLIEST_TRIES = 10  # free slots tried one after the other when others take them meanwhile

REGISTRATION_CHANGED = _(
    "Ihre Registrierung wurde eben geändert. Bitte versuchen Sie es noch einmal."
)


def _locked_couple(registration_id: object) -> tuple[Registration, Registration | None]:
    """The live registration and its partner (R19), if any, both locked in ascending id:
    every change of a couple locks them so, and two changes of one couple never deadlock."""
    pk = as_id(
        registration_id,
        code="unknown_registration",
        message=UNKNOWN_REGISTRATION,
        field="registration",
    )
    partner_id = Registration.objects.filter(pk=pk).values_list("partner_id", flat=True).first()
    rows = {
        row.pk: row
        for row in Registration.objects.select_for_update()
        .filter(pk__in=[pk] if partner_id is None else [pk, partner_id])
        .order_by("pk")
    }
    registration = rows.get(pk)
    if registration is None or registration.status == RegistrationStatus.DELETED:
        raise ServiceError("unknown_registration", UNKNOWN_REGISTRATION, field="registration")
    if registration.partner_id != partner_id:  # coupled or uncoupled in the meantime
        raise ServiceError("registration_changed", REGISTRATION_CHANGED, field="registration")
    return registration, rows.get(partner_id)


def _uncouple(*people: Registration) -> None:
    for person in people:
        person.partner = None
    Registration.objects.filter(pk__in=[p.pk for p in people]).update(partner=None)


def _live_pairs(people: list[Registration]) -> dict[str, AppointmentPair]:
    """Their live pairs by holder, with appointments and slots (for the R20 checks)."""
    pairs = {person.holder: live_pair_for(holder=person.holder) for person in people}
    return {holder: pair for holder, pair in pairs.items() if pair is not None}


def _book_together(
    people: list[Registration],
    current: dict[str, AppointmentPair],
    first_slot_id: object,
    second_slot_id: object | None,
    *,
    channel: str,
    on_booked,
) -> BookingResult:
    """One engine call for a person or a couple side by side (R19), replacing their live
    pairs `current` in the same transaction, as a rebook does (R20 cut-off): all of them
    move, or none."""
    person = people[0]
    common = {
        "first_slot_id": first_slot_id,
        "second_slot_id": second_slot_id,
        "channel": channel,
        "on_booked": on_booked,
        "vaccine_id": person.vaccine_id,
        "single_dose": person.single_dose,
    }
    if len(people) > 1:
        return pairs_book_adjacent(
            holders=[p.holder for p in people],
            district_id=person.district_id,
            replacing=[(pair.pk, holder) for holder, pair in current.items()],
            **common,
        )
    if person.holder in current:
        return pair_rebook(pair_id=current[person.holder].pk, holder=person.holder, **common)
    return pair_book(holder=person.holder, district_id=person.district_id, **common)


def _book_earliest(
    people: list[Registration],
    current: dict[str, AppointmentPair],
    *,
    start_after: dt.datetime,
    until: dt.datetime,
    channel: str,
    on_booked,
) -> BookingResult | None:
    """The earliest free slot at their own centre with room for all of them (and a second
    dose in reach, unless single-dose), booked through the engine; when someone else takes
    it meanwhile, the next one. None when nothing was free."""
    person = people[0]
    candidates = first_dose_candidates(
        centre_id=person.centre_id,
        vaccine=person.vaccine,
        start_after=start_after,
        until=until,
        limit=EARLIEST_TRIES,
        require_second=not person.single_dose,
        party_size=len(people),
    )
    for slot_id, _start, _free in candidates:
        result = _book_together(
            people, current, slot_id, None, channel=channel, on_booked=on_booked
        )
        if result.booked:
            return result
    return None


def _booked_together(
    people: list[Registration],
    current: dict[str, AppointmentPair],
    pairs: list,
    *,
    short_notice: bool = False,
) -> None:
    """In the booking's transaction: all of them assigned, at the centre of their new
    pairs (a person may pick another centre of the district), each told by e-mail or
    letter (R17) that their pair is new or moved."""
    Registration.objects.filter(pk__in=[p.pk for p in people]).update(
        status=RegistrationStatus.ASSIGNED, centre_id=pairs[0].centre_id
    )
    by_holder = {pair.holder: pair for pair in pairs}
    for person in people:
        _confirm_pair(
            person,
            by_holder[person.holder],
            rebooked=person.holder in current,
            short_notice=short_notice,
        )


COUPLE_PER_PARTNER = Limit("couple-partner", 5, dt.timedelta(minutes=15))
COUPLE_PER_REGISTRATION = Limit("couple-registration", 10, dt.timedelta(hours=1))
PARTNER_NOT_FOUND = _(
    "Zu dieser Vorgangskennung und diesem Geburtsdatum gibt es keine Registrierung. Bitte prüfen Sie beide Angaben."
)
COUPLE_NOT_CONFIRMED = _(
    "Gemeinsame Termine gibt es erst, wenn beide Registrierungen bestätigt sind."
)
ALREADY_COUPLED = _(
    "Eine der beiden Registrierungen ist schon für gemeinsame Termine verbunden. Das lässt sich über die Hotline lösen."
)
COUPLE_MISMATCH = _(
    "Gemeinsame Termine gibt es nur im selben Impfzentrum, mit demselben Impfstoff und derselben Zahl an Impfungen. Bitte wenden Sie sich an die Hotline."
)
NO_ADJACENT_SLOTS = _(
    "Zurzeit sind keine zwei Termine nebeneinander frei. Es bleibt alles, wie es war: Ihre gebuchten Termine gelten weiter. Versuchen Sie es später noch einmal."
)


def registrations_couple(
    *, registration_id: int, partner_vorgangskennung: str, partner_birth_date: dt.date
) -> Registration:
    """R19: link two registrations for appointments side by side at the same times. The
    caller has checked who asks for the first one; the partner is proven by Vorgangskennung
    and date of birth (either one wrong reads the same, and failures are throttled per
    partner and per asking registration, against guessing a birth date). Both must be live
    and confirmed (R14), at the same centre with the same vaccine and number of doses, and
    neither coupled already.

    Their pairs: when neither has one, pairs side by side are booked at once if free, or
    else the two wait together and the assignment books them side by side. When either has
    one, both get new pairs side by side at once, replacing the old ones as a rebook does
    (R20 cut-off); if none are free the coupling is refused (`no_adjacent_slots`) and all
    stays as it was: nobody loses a booked appointment for the hope of a later one.
    Returns the first registration, coupled."""
    pk = as_id(
        registration_id,
        code="unknown_registration",
        message=UNKNOWN_REGISTRATION,
        field="registration",
    )
    try:
        vorgangskennung = normalise_vorgangskennung(partner_vorgangskennung)
    except ServiceError as error:
        error.field = "partner_vorgangskennung"
        raise
    if not isinstance(partner_birth_date, dt.date) or isinstance(partner_birth_date, dt.datetime):
        raise ServiceError(
            "birth_date_invalid",
            _("Bitte geben Sie das Geburtsdatum an."),
            field="partner_birth_date",
        )
    # Counted outside the transaction below: a failure counts even though nothing changes.
    checks = [(COUPLE_PER_PARTNER, vorgangskennung), (COUPLE_PER_REGISTRATION, str(pk))]
    attempt_take(checks)
    partner_pk = (
        Registration.objects.filter(vorgangskennung=vorgangskennung, birth_date=partner_birth_date)
        .exclude(status=RegistrationStatus.DELETED)
        .values_list("pk", flat=True)
        .first()
    )
    if partner_pk is None:
        raise ServiceError("partner_not_found", PARTNER_NOT_FOUND, field="partner_vorgangskennung")
    for limit, value in checks:
        attempt_give_back(limit, value)
    if partner_pk == pk:
        raise ServiceError(
            "couple_with_self",
            _("Bitte geben Sie die Vorgangskennung der anderen Person an."),
            field="partner_vorgangskennung",
        )
    with transaction.atomic():
        rows = {
            row.pk: row
            for row in Registration.objects.select_for_update()
            .filter(pk__in=[pk, partner_pk])
            .exclude(status=RegistrationStatus.DELETED)
            .order_by("pk")
        }
        registration, partner = rows.get(pk), rows.get(partner_pk)
        if registration is None:
            raise ServiceError("unknown_registration", UNKNOWN_REGISTRATION, field="registration")
        if partner is None:  # deleted in the meantime
            raise ServiceError(
                "partner_not_found", PARTNER_NOT_FOUND, field="partner_vorgangskennung"
            )
        couple = [registration, partner]
        if any(p.status == RegistrationStatus.REVIEW for p in couple):
            raise ServiceError("not_confirmed", COUPLE_NOT_CONFIRMED, field="registration")
        if any(p.partner_id is not None for p in couple):
            raise ServiceError("already_coupled", ALREADY_COUPLED, field="registration")
        if len({(p.region_id, p.centre_id, p.vaccine_id, p.single_dose) for p in couple}) > 1:
            raise ServiceError("couple_mismatch", COUPLE_MISMATCH, field="partner_vorgangskennung")
        registration.partner, partner.partner = partner, registration
        Registration.objects.filter(pk=registration.pk).update(partner=partner)
        Registration.objects.filter(pk=partner.pk).update(partner=registration)
        current = _live_pairs(couple)
        booked = _book_earliest(
            couple,
            current,
            start_after=timezone.now() + BOOKING_LEAD,
            until=day_start(
                local_today() + dt.timedelta(days=registration.region.release_days_ahead + 1)
            ),
            channel=Channel.ASSIGNMENT,
            on_booked=lambda pairs, _replaced: _booked_together(couple, current, pairs),
        )
        if booked is None and current:
            raise ServiceError(
                "no_adjacent_slots", NO_ADJACENT_SLOTS, field="partner_vorgangskennung"
            )
        if booked is not None:
            registration.status = partner.status = RegistrationStatus.ASSIGNED
    return registration


@transaction.atomic
def registration_uncouple(*, registration_id: int) -> Registration:
    """R19 undone: the two are no longer linked; each keeps their pair (which then no
    longer moves with the other's) or waits alone."""
    registration, partner = _locked_couple(registration_id)
    if partner is None:
        raise ServiceError(
            "not_coupled",
            _("Diese Registrierung ist mit niemandem für gemeinsame Termine verbunden."),
            field="registration",
        )
    _uncouple(registration, partner)
    return registration


NO_SHORT_NOTICE = ngettext_lazy(
    "Heute ist in Ihrem Impfzentrum kein Termin mehr frei. Sie bleiben registriert und bekommen weiter Termine zugewiesen.",
    "In den nächsten %(days)d Tagen ist in Ihrem Impfzentrum kein Termin frei. Sie bleiben registriert und bekommen weiter Termine zugewiesen.",
    "days",
)
NO_EARLIER_SHORT_NOTICE = ngettext_lazy(
    "Heute ist in Ihrem Impfzentrum kein früherer Termin mehr frei. Ihre Termine bleiben, wie sie sind.",
    "In den nächsten %(days)d Tagen ist in Ihrem Impfzentrum kein früherer Termin frei. Ihre Termine bleiben, wie sie sind.",
    "days",
)
SHORT_NOTICE_BY_PHONE = _(
    "Kurzfristige Termine (Impfterminservice-Sofort) gibt es für Registrierungen im Internet. Bitte rufen Sie die Hotline an: %(hotline)s"
)
SHORT_NOTICE_INTRO = _("Für Sie ist ein kurzfristiger Termin gebucht (Impfterminservice-Sofort):")
SHORT_NOTICE_MOVED_INTRO = _(
    "Ihre Termine wurden auf einen kurzfristigen Termin vorgezogen (Impfterminservice-Sofort). Es gelten nur noch diese Termine:"
)


def registration_short_notice(*, registration_id: int) -> AppointmentPair:
    """R25 "Sofort": a free slot at the person's own centre with their vaccine (and
    single-dose choice, R27) within the region's short-notice window, booked at once.

    The window counts today as its first day (4 days: today and the next three) and starts
    an hour from now (BOOKING_LEAD), so that nobody gets a slot they cannot reach. Only for
    online registrations (R21: by phone, the hotline helps), waiting or assigned. An
    assigned person's pair moves to the earlier slot as a rebook does, so the R20 cut-off
    holds: a pair within it stays as it is (`rebook_too_late`), and only a slot before the
    current one is offered. A couple (R19) gets two seats side by side and both pairs move.
    Whoever loses a seat to someone else at the same moment gets the next free one. When
    nothing is free: ServiceError `no_short_notice`, nothing changes. Returns the person's
    new pair."""
    with transaction.atomic():
        registration, partner = _locked_couple(registration_id)
        people = [registration] if partner is None else [registration, partner]
        if any(p.status == RegistrationStatus.REVIEW for p in people):
            raise ServiceError("not_confirmed", NOT_YET_CONFIRMED, field="registration")
        region = registration.region
        if registration.channel != Channel.ONLINE:
            raise ServiceError(
                "short_notice_by_phone",
                SHORT_NOTICE_BY_PHONE,
                field="registration",
                hotline=region.hotline or "116117",
            )
        now = timezone.now()
        until = day_start(local_today() + dt.timedelta(days=region.short_notice_days))
        current = _live_pairs(people)
        for pair in current.values():
            refusal = rebook_refusal(pair=pair, appointments=list(pair.appointments.all()), now=now)
            if refusal is not None:
                raise refusal
            until = min([until] + [a.slot.start for a in booked_appointments(pair)])
        booked = _book_earliest(
            people,
            current,
            start_after=now + BOOKING_LEAD,
            until=until - dt.timedelta(microseconds=1),  # before midnight, before the pair
            channel=Channel.ONLINE,
            on_booked=lambda pairs, _replaced: _booked_together(
                people, current, pairs, short_notice=True
            ),
        )
        if booked is not None:
            return booked.pairs[0]
    raise ServiceError(
        "no_short_notice",
        NO_EARLIER_SHORT_NOTICE if current else NO_SHORT_NOTICE,
        field="registration",
        days=region.short_notice_days,
    )


@transaction.atomic
def registration_no_show_release(*, pair_id: int, holder: str) -> bool:
    """A registration's pair is given up after a missed first appointment (issue 7): locked
    as every change of a registration is (registration, partner, then the pair), the pair is
    cancelled, a couple dissolved (the partner keeps their pair), the registration goes back
    into the pool (it will be assigned anew; without e-mail the new letter says so) and,
    with an e-mail, the person is told. False: the holder is not a registration."""
    if not holder.startswith("reg:"):
        return False
    registration, partner = _locked_couple(Registration.pk_of_holder(holder))
    _cancel_back_to_pool(registration, partner, pair_id)
    return True


# --- retention (issue 10) ------------------------------------------------------------------


def registrations_expire(*, now: dt.datetime | None = None) -> int:
    """A registration whose appointments all lie more than RETENTION_CONTACT_DAYS in the
    past is erased as on request (R23's erasure: out of the pool, personal data gone, the
    row kept for statistics); those waiting or under review keep theirs. One transaction
    per registration, so that a couple is handled with both rows locked. Returns how many."""
    now = now or timezone.now()
    holder = Concat(Value("reg:"), Cast(OuterRef("pk"), CharField()))
    ids = list(
        Registration.objects.filter(status=RegistrationStatus.ASSIGNED)
        .annotate(last=last_appointment_start(holder))
        .filter(last__lt=now - dt.timedelta(days=settings.RETENTION_CONTACT_DAYS))
        .values_list("pk", flat=True)
    )
    erased = 0
    for pk in ids:
        try:
            with transaction.atomic():
                registration, _partner = _locked_couple(pk)
                if registration.status != RegistrationStatus.ASSIGNED:
                    continue  # changed meanwhile (deleted, back in the pool)
                _erase(registration)
        except ServiceError:
            continue  # gone meanwhile: the others still run
        erased += 1
    return erased
