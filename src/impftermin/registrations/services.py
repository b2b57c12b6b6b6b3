"""Registration and assignment (the Hessen way, R13 to R18): a person registers (online with
a password, or by phone without one), gets a Vorgangskennung, is checked against the
population register (R14), waits in the pool of their centre and is assigned a pair by
the assignment engine, first come first served."""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from impftermin.booking.messages import pair_confirmation, send_pair_cancellation
from impftermin.booking.models import Channel
from impftermin.booking.selectors import live_pair_for, live_pairs_for
from impftermin.booking.services import (
    AssignmentRequest,
    pair_cancel,
    pair_rebook,
    pairs_assign,
)
from impftermin.centres.selectors import centre_offers, get_centre, get_vaccine
from impftermin.core import identifiers
from impftermin.core.contact import normalise_mobile
from impftermin.core.errors import ServiceError
from impftermin.core.identifiers import keyed_hash
from impftermin.core.validation import as_id
from impftermin.notifications.services import Message, messages_send_later
from impftermin.regions.models import BookingMode, Region
from impftermin.regions.selectors import districts_for_postcode, get_region_in_mode
from impftermin.registrations.models import Registration, RegistrationStatus, Residence
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
) -> Registration:
    """Register a person (R13, R15): online with a password (Argon2), by phone without
    (R21). The same person twice is refused; the population register decides whether the
    registration waits for an appointment or is held for an operator's review (R14)."""
    region = get_region_in_mode(
        region_id=region_id,
        mode=BookingMode.ASSIGNMENT,
        refusal=_("In dieser Region gibt es keine Registrierung."),
    )
    if channel not in (Channel.ONLINE, Channel.PHONE):
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
    if channel == Channel.ONLINE:
        if not isinstance(password, str) or not password:
            raise ServiceError(
                "password_missing", _("Bitte wählen Sie ein Passwort."), field="password"
            )
        try:
            validate_password(password)
        except ValidationError as error:
            raise ServiceError(
                "password_weak", " ".join(error.messages), field="password"
            ) from None
        hashed = make_password(password)
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
    what statistics and the unique Vorgangskennung need."""
    registration.status = RegistrationStatus.DELETED
    registration.deleted_at = timezone.now()
    registration.first_name = registration.last_name = ""
    registration.street = registration.city = ""
    registration.email = registration.mobile = registration.password = ""
    registration.birth_date = dt.date(1900, 1, 1)
    registration.identity_key = keyed_hash("registration-deleted", registration.vorgangskennung)
    registration.save()


def registrations_assign(*, region_id: int | None = None, batch_size: int = ASSIGN_BATCH) -> int:
    """The assignment task (R16): waiting registrations, first come first served (by
    priority group, then time of registration), get pairs at their centre through the
    booking engine, within their region's release window; whoever finds none stays
    waiting. Parallel runs take different people (row locks, skip locked). The e-mails
    are composed by a task enqueued with each batch. Returns how many were assigned."""
    regions = Region.objects.filter(booking_mode=BookingMode.ASSIGNMENT)
    if region_id is not None:
        regions = regions.filter(pk=region_id)
    return sum(_assign_region(region, batch_size) for region in regions)


def _assign_region(region: Region, batch_size: int) -> int:
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
                .values_list("pk", "centre_id", "vaccine_id", "single_dose")[:batch_size]
            )
            if not batch:
                return assigned
            pairs = pairs_assign(
                requests=[
                    AssignmentRequest(Registration.holder_of(pk), centre, vaccine, single)
                    for pk, centre, vaccine, single in batch
                ],
                window_days=region.release_days_ahead,
            )
            done = [pk for pk, *_rest in batch if Registration.holder_of(pk) in pairs]
            Registration.objects.filter(pk__in=done).update(status=RegistrationStatus.ASSIGNED)
            if done:
                notify_assignments.enqueue(done)
        assigned += len(done)
        unlucky.update(pk for pk, *_rest in batch if Registration.holder_of(pk) not in pairs)
        served = {(c, v) for pk, c, v, _s in batch if Registration.holder_of(pk) in pairs}
        for centre, vaccine in {(c, v) for _pk, c, v, _s in batch} - served - exhausted:
            exhausted.add((centre, vaccine))
            full |= Q(centre_id=centre, vaccine_id=vaccine)


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
    assignment's transaction). Without e-mail a letter follows (R17, still to come).
    Returns how many mails were queued."""
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
                manage=(_manage_text(r), settings.SITE_URL.rstrip("/") + "/"),
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


def _locked_registration(registration_id: object) -> Registration:
    pk = as_id(
        registration_id,
        code="unknown_registration",
        message=UNKNOWN_REGISTRATION,
        field="registration",
    )
    registration = (
        Registration.objects.select_for_update()
        .exclude(status=RegistrationStatus.DELETED)
        .filter(pk=pk)
        .first()
    )
    if registration is None:
        raise ServiceError("unknown_registration", UNKNOWN_REGISTRATION, field="registration")
    return registration


def _live_pair(registration: Registration):
    pair = live_pair_for(holder=registration.holder)
    if pair is None:
        raise ServiceError("no_booking", NO_PAIR, field="registration")
    return pair


POOL_AGAIN = _(
    "Sie bleiben registriert und bekommen neue Termine zugewiesen. Informationen: %(link)s"
)


@transaction.atomic
def registration_pair_cancel(*, registration_id: int) -> Registration:
    """R22: cancel the appointments; the registration stays in the pool and will be
    assigned new ones. The seats are free at once."""
    registration = _locked_registration(registration_id)
    pair = pair_cancel(pair_id=_live_pair(registration).pk, holder=registration.holder)
    registration.status = RegistrationStatus.WAITING
    registration.save(update_fields=["status"])
    if registration.email:
        send_pair_cancellation(
            recipient=registration.email,
            language=registration.language,
            pair=pair,
            again=(POOL_AGAIN, settings.SITE_URL.rstrip("/") + "/"),
        )
    return registration


def registration_rebook(
    *, registration_id: int, first_slot_id: int, second_slot_id: int | None = None
):
    """R20: move the pair into the future, at the latest the region's cut-off (3 days)
    before the appointment, at the person's centre's district with their vaccine."""
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        pair = _live_pair(registration)
    return pair_rebook(
        pair_id=pair.pk,
        holder=registration.holder,
        first_slot_id=first_slot_id,
        second_slot_id=second_slot_id,
        vaccine_id=registration.vaccine_id,
        on_booked=lambda pairs, _replaced: _mail_rebooked(registration, pairs[0]),
    )


def _mail_rebooked(registration: Registration, pair) -> None:
    if registration.email:
        messages_send_later(
            [
                pair_confirmation(
                    recipient=registration.email,
                    language=registration.language,
                    pair=pair,
                    manage=(_manage_text(registration), settings.SITE_URL.rstrip("/") + "/"),
                    rebooked=True,
                )
            ]
        )


def _manage_text(registration: Registration):
    # R21: phone registrations have no password; they call.
    return MANAGE_BY_LOGIN if registration.channel == Channel.ONLINE else MANAGE_BY_PHONE


DELETED_TEXT = _(
    "Guten Tag,\n\nIhre Registrierung %(vorgangskennung)s ist gelöscht. Sie bekommen keine "
    "Termine mehr zugewiesen; gebuchte Termine sind storniert. Ihre persönlichen Daten haben "
    "wir entfernt.\n\nSie können sich jederzeit neu registrieren."
)


@transaction.atomic
def registration_delete(*, registration_id: int) -> Registration:
    """R23: the registration leaves the pool for good; a booked pair is cancelled (seats
    free at once), a confirmation goes out, and the personal data are erased."""
    registration = _locked_registration(registration_id)
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
                    )
                ]
            )
    _erase(registration)
    return registration
