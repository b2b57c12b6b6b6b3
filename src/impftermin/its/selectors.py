"""What the 2021 protocol reads: centre groups (one per district of a region in codes
mode: its centres share one base URL, and codes requested there book only there), the
centre behind a postcode, the vaccines by their qualification (our vaccine code, L920 …),
and free pairs at a centre."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache

from impftermin.booking.availability import cached_answer
from impftermin.booking.models import Slot
from impftermin.booking.selectors import PairOption, local_today, pair_options
from impftermin.centres.models import Centre
from impftermin.centres.selectors import vaccines_offered
from impftermin.codes.models import CodeSet
from impftermin.regions.models import BookingMode, District
from impftermin.vaccines.models import Vaccine

SLOTS_PER_VACCINE = 20  # pairs listed per centre and vaccine in one search


def listed_centres() -> list[Centre]:
    """Active centres of the regions in codes mode (the protocol knows no other), by
    Bundesland and name."""
    return list(
        Centre.objects.filter(active=True, district__region__booking_mode=BookingMode.CODES)
        .select_related("district__region")
        .order_by("district__region__bundesland", "name", "pk")
    )


# Every request of the protocol names its group, centres and vaccines again: they are read
# from the database at most this often (a change in the back office shows within it).
GROUP_SECONDS = 60


def group_district(ags: str) -> District | None:
    """The centre group behind a base URL: a district of a region in codes mode."""
    if not ags.isascii() or not ags.isdigit() or len(ags) > 8:
        return None
    found = cache.get_or_set(
        f"its-group:{ags}",
        lambda: (
            District.objects.filter(ags=ags, region__booking_mode=BookingMode.CODES)
            .select_related("region")
            .first()
            or False
        ),
        GROUP_SECONDS,
    )
    return found or None


def group_centres(district: District, postcode: object) -> list[Centre]:
    """The group's active centres at a postcode (one, as the protocol assumes; two
    centres of a district that share a postcode are both searched)."""
    if not isinstance(postcode, str) or len(postcode) != 5 or not postcode.isdigit():
        return []
    return cache.get_or_set(
        f"its-centres:{district.pk}:{postcode}",
        lambda: list(Centre.objects.filter(district=district, postcode=postcode, active=True)),
        GROUP_SECONDS,
    )


def group_vaccines(district: District) -> list[Vaccine]:
    return cache.get_or_set(
        f"its-vaccines:{district.pk}",
        lambda: vaccines_offered(district_id=district.pk),
        GROUP_SECONDS,
    )


def code_vaccines(code_set: CodeSet, district: District) -> list[Vaccine]:
    """The vaccines a code books (its 'qualifikationen'): the one chosen for it, or, for
    codes without one, those offered in the group with as many doses."""
    offered = group_vaccines(district)
    if code_set.vaccine_id is not None:
        return [v for v in offered if v.pk == code_set.vaccine_id]
    return [v for v in offered if (v.doses == 1) == code_set.single_dose]  # as the web


def one_appointment(code_set: CodeSet, vaccine: Vaccine) -> bool:
    """Whether a booking is a single appointment: a single-dose vaccine, or one code for a
    recovered person (R27)."""
    return vaccine.doses == 1 or code_set.single_dose


@dataclass(frozen=True)
class Offer:
    option: PairOption
    single: bool  # one appointment, not a pair

    @property
    def slot_ids(self) -> list[int]:
        if self.single or self.option.second_slot_id is None:
            return [self.option.first_slot_id]
        return [self.option.first_slot_id, self.option.second_slot_id]


def centre_offers(
    *, district: District, centres: list[Centre], vaccine: Vaccine, single: bool, limit: int
) -> list[Offer]:
    """Bookable pairs (single appointments) at these centres, earliest first, within the
    region's release window; from the cache that bookings and cancellations renew
    (booking.availability; a pair taken meanwhile is refused at booking with BU004, as in
    2021)."""
    return cached_answer(
        "its-offers",
        district_id=district.pk,
        vaccine_id=vaccine.pk,
        params=(",".join(str(c.pk) for c in centres), int(single), limit, local_today()),
        compute=lambda: _centre_offers(district, centres, vaccine, single, limit),
    )


def _centre_offers(
    district: District, centres: list[Centre], vaccine: Vaccine, single: bool, limit: int
) -> list[Offer]:
    today = local_today()
    last_day = today + dt.timedelta(days=district.region.release_days_ahead)
    offers = []
    for centre in centres:
        offers += [
            Offer(option=option, single=single)
            for option in pair_options(
                district_id=district.pk,
                vaccine=vaccine,
                date_from=today,
                date_to=last_day,
                party_size=1,
                limit=limit,
                require_second=not single,
                centre_id=centre.pk,
            )
        ]
    offers.sort(key=lambda offer: (offer.option.first_start, offer.option.first_slot_id))
    return offers[:limit]


def epoch_millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def offered_pair(
    *, code_set: CodeSet, district: District, centres: list[Centre], slot_ids: list[int]
) -> bool:
    """Whether these slots could be a pair this search offers the code: the first at the
    postcode's centre, of a vaccine of the code, one slot for a single appointment and two
    otherwise. The rest (released, ahead, the interval, the same centre) the booking
    engine checks; its refusals answer WP011 as well."""
    slots = {s.pk: s for s in Slot.objects.select_related("vaccine").filter(pk__in=slot_ids)}
    if len(slots) != len(slot_ids) or len(set(slot_ids)) != len(slot_ids):
        return False
    first = slots[slot_ids[0]]
    if first.vaccine not in code_vaccines(code_set, district):
        return False
    if len(slot_ids) != (1 if one_appointment(code_set, first.vaccine) else 2):
        return False
    return first.centre_id in {c.pk for c in centres}
