"""Demo data for the embedded run (`make run`): two regions modelled on 2021, the four
vaccines, one or two centres per district, slots for the coming weeks and staff log-ins.

Facts (districts, populations, centres, postcodes, vaccines) come from the JSON files in
`data/` (sources in `data/SOURCES.md`); opening hours and capacities there are assumed.

Loading is idempotent and keeps what is there: reference facts (regions, districts,
centres' addresses, vaccines) are brought in line with the files, postcodes only gain
districts, and the operational settings an operator may have changed since (opening hours,
capacities, passwords, second factors) are set only for what has none yet. Slots are only
topped up for the days after a centre's last slot. Never for production.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from impftermin.booking import services as booking_services
from impftermin.booking.models import Slot
from impftermin.centres import services as centre_services
from impftermin.centres.models import Centre, CentreCapacity, OpeningHours
from impftermin.core.errors import ServiceError
from impftermin.information.services import information_seed_load
from impftermin.regions.models import District, Postcode, Region
from impftermin.staff import roles
from impftermin.staff import services as staff_services
from impftermin.vaccines import services as vaccine_services
from impftermin.vaccines.models import Delivery, Vaccine
from impftermin.waitingroom.services import waiting_room_ensure

DATA_DIR = Path(__file__).resolve().parent / "data"
REGION_FILES = ("westfalen-lippe.json", "hessen.json")
INFORMATION_DIR = "information"  # <region slug>.json: FAQ entries and quick guides
VACCINE_FILE = "vaccines.json"
DEFAULT_WEEKS = 9  # the 28-day release window plus a 28-day second-dose interval
MAX_WEEKS = 52


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    is_superuser: bool
    description: str | Promise
    role: roles.Role | None = None  # its group (staff/roles.py); the superuser has none


# Development only: fixed, published passwords for the demo accounts. The loader refuses
# to run in production, so these accounts never exist there.
DEMO_LOGINS = (
    DemoLogin(
        username="operator",
        password="impftermin-operator",  # noqa: S106
        is_superuser=False,
        description=_(
            "Betrieb: Regionen, Impfstoffe, Impfzentren, Termine, Prüfung von Registrierungen, Briefe"
        ),
        role=roles.OPERATOR,
    ),
    DemoLogin(
        username="agent",
        password="impftermin-agent",  # noqa: S106
        is_superuser=False,
        description=_("Call-Center-Agent"),
        role=roles.AGENT,
    ),
    DemoLogin(
        username="supervisor",
        password="impftermin-supervisor",  # noqa: S106
        is_superuser=False,
        description=_("Call-Center-Leitung: Arbeit der Agenten, Protokoll"),
        role=roles.SUPERVISOR,
    ),
    DemoLogin(
        username="admin",
        password="impftermin-admin",  # noqa: S106
        is_superuser=True,
        description=_("Superuser: alle Rechte"),
    ),
)

# Development only, like the passwords: every demo account's second factor (TOTP) has this
# published key; `manage.py demo_totp <user>` prints the current code.
DEMO_TOTP_KEY = "5aa56db841c3b08c4bd0ce32cf9c2bc0045c68fe"  # hex, 20 bytes


def demo_totp_secret() -> str:
    """DEMO_TOTP_KEY as authenticator apps take it: base32."""
    return base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY)).decode("ascii")


@dataclass
class DemoLoadResult:
    """What a load created (`created`), changed (`updated`) and how much there is now."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    slots_created: int = 0
    slots_released: int = 0

    def count(self, kind: str, *, created: bool = False, updated: bool = False) -> None:
        if created:
            self.created[kind] = self.created.get(kind, 0) + 1
        elif updated:
            self.updated[kind] = self.updated.get(kind, 0) + 1


def ensure_not_production() -> None:
    if settings.PRODUCTION:
        raise ServiceError(
            "demo_in_production",
            _("Demodaten gibt es nur in der Entwicklung, nie in der Produktion (DJANGO_ENV)."),
        )


# --- reading the files --------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise ServiceError(
            "demo_data_missing",
            _("Die Demodaten fehlen: %(path)s"),
            field="data_dir",
            path=str(path),
        ) from None
    except (OSError, ValueError) as exc:
        raise ServiceError(
            "demo_data_invalid",
            _("Die Demodaten sind fehlerhaft: %(path)s (%(error)s)"),
            field="data_dir",
            path=str(path),
            error=str(exc),
        ) from None
    if not isinstance(data, dict):
        raise ServiceError(
            "demo_data_invalid",
            _("Die Demodaten sind fehlerhaft: %(path)s (%(error)s)"),
            field="data_dir",
            path=str(path),
            error="not an object",
        )
    return data


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# --- creating and updating by natural key --------------------------------------------------


def _sync_fields(instance: Any, values: dict[str, Any]) -> bool:
    """Set the given fields; save only the ones that differ. True if anything changed."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    if changed:
        instance.save(update_fields=changed)
    return bool(changed)


def _upsert(model: Any, lookup: dict[str, Any], values: dict[str, Any], result: DemoLoadResult):
    kind = model._meta.model_name
    instance = model.objects.filter(**lookup).first()
    if instance is None:
        instance = model.objects.create(**lookup, **values)
        result.count(kind, created=True)
    elif _sync_fields(instance, values):
        result.count(kind, updated=True)
    return instance


def _load_vaccines(data: dict[str, Any], result: DemoLoadResult) -> dict[str, Vaccine]:
    vaccines = {}
    for entry in data["vaccines"]:
        vaccines[entry["code"]] = _upsert(
            Vaccine,
            {"code": entry["code"]},
            {
                "name": entry["name"],
                "doses": entry["doses"],
                "min_interval_days": entry["min_interval_days"],
                "max_interval_days": entry["max_interval_days"],
                "min_age": entry["min_age"],
            },
            result,
        )
    return vaccines


def _load_region(
    data: dict[str, Any], vaccines: dict[str, Vaccine], result: DemoLoadResult
) -> Region:
    info = dict(data["region"])
    region = _upsert(Region, {"slug": info.pop("slug")}, info, result)

    districts: dict[str, District] = {}
    for entry in data["districts"]:
        districts[entry["ags"]] = _upsert(
            District,
            {"ags": entry["ags"]},
            {
                "name": entry["name"],
                "kind": entry["kind"],
                "population": entry["population"],
                "region_id": region.pk,
            },
            result,
        )
    _load_postcodes(data["districts"], districts, result)

    periods_by_weekday: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for hours in data["opening_hours"]:
        for weekday in hours["weekdays"]:
            periods_by_weekday.setdefault(weekday, []).append(
                (_time(hours["opens"]), _time(hours["closes"]))
            )
    centres_with_hours = set(
        OpeningHours.objects.filter(centre__district__region=region).values_list(
            "centre_id", flat=True
        )
    )
    existing_capacities = set(
        CentreCapacity.objects.filter(centre__district__region=region).values_list(
            "centre_id", "vaccine_id"
        )
    )
    for entry in data["centres"]:
        centre = _upsert(
            Centre,
            {"district": districts[entry["district"]], "name": entry["name"]},
            {"street": entry["street"], "postcode": entry["postcode"], "city": entry["city"]},
            result,
        )
        # Opening hours and capacities are an operator's to change: seed them only once.
        if centre.pk not in centres_with_hours:
            for weekday, periods in sorted(periods_by_weekday.items()):
                centre_services.opening_hours_set(
                    centre_id=centre.pk, weekday=weekday, periods=periods
                )
        for capacity in entry["capacities"]:
            vaccine = vaccines[capacity["vaccine"]]
            if (centre.pk, vaccine.pk) in existing_capacities:
                continue
            centre_services.centre_capacity_set(
                centre_id=centre.pk,
                vaccine_id=vaccine.pk,
                seats_per_slot=capacity["seats_per_slot"],
                slot_minutes=capacity["slot_minutes"],
            )
            result.count("centrecapacity", created=True)
    return region


def _load_postcodes(
    entries: list[dict[str, Any]], districts: dict[str, District], result: DemoLoadResult
) -> None:
    """Create the listed postcodes and add the missing links to their districts. Links are
    only added, never removed: the full reference import may know more of them."""
    wanted = {(code, districts[e["ags"]].pk) for e in entries for code in e["postcodes"]}
    codes = {code for code, _district in wanted}
    existing = dict(Postcode.objects.filter(code__in=codes).values_list("code", "pk"))
    new = [Postcode(code=code) for code in sorted(codes - existing.keys())]
    Postcode.objects.bulk_create(new)
    if new:
        result.created["postcode"] = result.created.get("postcode", 0) + len(new)
        existing = dict(Postcode.objects.filter(code__in=codes).values_list("code", "pk"))
    link = Postcode.districts.through
    linked = set(
        link.objects.filter(postcode_id__in=existing.values()).values_list(
            "postcode_id", "district_id"
        )
    )
    missing = [
        link(postcode_id=existing[code], district_id=district_id)
        for code, district_id in sorted(wanted)
        if (existing[code], district_id) not in linked
    ]
    link.objects.bulk_create(missing)
    if missing:
        result.created["postcode_district"] = len(missing) + result.created.get(
            "postcode_district", 0
        )


def _load_information(region: Region, directory: Path, result: DemoLoadResult) -> None:
    """The region's FAQ and quick guides from its seed document (issue 11), where the demo
    has one; entries that exist already are left as operators edited them."""
    path = directory / INFORMATION_DIR / f"{region.slug}.json"
    if path.exists():
        created = information_seed_load(region=region, data=_read_json(path))
        result.created["information"] = result.created.get("information", 0) + created


# Doses delivered once per region and vaccine in the demo: enough for a fifth of the
# population, split to the districts by population, so that the release's cap (R9) shows.
DEMO_DELIVERY_SHARE = 5


def _load_deliveries(regions: list[Region], result: DemoLoadResult) -> None:
    """One delivery per region and vaccine its centres offer, if it has none yet."""
    for region in regions:
        offered = set(
            CentreCapacity.objects.filter(centre__district__region=region).values_list(
                "vaccine_id", flat=True
            )
        )
        population = sum(
            District.objects.filter(region=region).values_list("population", flat=True)
        )
        for vaccine_id in sorted(offered):
            if Delivery.objects.filter(region=region, vaccine_id=vaccine_id).exists():
                continue
            vaccine_services.delivery_record(
                region_id=region.pk,
                vaccine_id=vaccine_id,
                doses=max(population // DEMO_DELIVERY_SHARE, 1),
                delivered_on=timezone.localdate(),
            )
            result.count("delivery", created=True)


def _top_up_slots(regions: list[Region], weeks: int, result: DemoLoadResult) -> None:
    """Slots from today for `weeks` weeks (only days not generated yet), then the release."""
    region_ids = [region.pk for region in regions]
    result.slots_created += booking_services.slots_top_up(
        through=timezone.localdate() + dt.timedelta(weeks=weeks, days=-1), region_ids=region_ids
    )
    for region_id in region_ids:
        result.slots_released += booking_services.slots_release(region_id=region_id)


def _load_staff(result: DemoLoadResult) -> None:
    # The roles' groups, exactly as staff/roles.py defines them (as after every migrate).
    for _name in staff_services.roles_setup().groups_created:
        result.count("group", created=True)

    user_model = get_user_model()
    for login in DEMO_LOGINS:
        user = user_model.objects.filter(username=login.username).first()
        if user is None:
            # The password is set only here: a password changed later is kept.
            user = user_model.objects.create_user(
                username=login.username,
                password=login.password,
                is_staff=True,
                is_superuser=login.is_superuser,
            )
            result.count("user", created=True)
        if login.role is not None:
            user.groups.add(Group.objects.get(name=login.role.group))
        # A second factor only for who has none: one set up since is kept.
        _device, created = staff_services.totp_device_provision(user=user, key=DEMO_TOTP_KEY)
        result.count("totpdevice", created=created)


@transaction.atomic
def demo_data_load(
    *, weeks: int = DEFAULT_WEEKS, data_dir: Path | None = None, with_slots: bool = True
) -> DemoLoadResult:
    """Load (or top up) the demo data: regions, districts, postcodes, vaccines, centres with
    opening hours and capacities, slots for `weeks` weeks from today (released as far as
    each region's window reaches) and the demo staff accounts. Refuses in production."""
    ensure_not_production()
    if not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise ServiceError(
            "weeks_invalid",
            _("Termine lassen sich für 1 bis %(max)d Wochen anlegen."),
            field="weeks",
            max=MAX_WEEKS,
        )
    directory = Path(data_dir) if data_dir is not None else DATA_DIR
    result = DemoLoadResult()
    try:
        vaccines = _load_vaccines(_read_json(directory / VACCINE_FILE), result)
        regions = [
            _load_region(_read_json(directory / name), vaccines, result) for name in REGION_FILES
        ]
        for region in regions:
            _load_information(region, directory, result)
            # Issue 9: every region has a waiting room that switches itself on at a crowd.
            if waiting_room_ensure(region_id=region.pk):
                result.created["waiting_room"] = result.created.get("waiting_room", 0) + 1
    except KeyError as exc:
        raise ServiceError(
            "demo_data_invalid",
            _("Die Demodaten sind fehlerhaft: %(path)s (%(error)s)"),
            field="data_dir",
            path=str(directory),
            error=f"missing {exc}",
        ) from None
    _load_deliveries(regions, result)
    if with_slots:
        _top_up_slots(regions, weeks, result)
    _load_staff(result)

    result.totals = {
        "region": len(regions),
        "district": District.objects.filter(region__in=regions).count(),
        "postcode": Postcode.objects.filter(districts__region__in=regions).distinct().count(),
        "centre": Centre.objects.filter(district__region__in=regions).count(),
        "vaccine": Vaccine.objects.count(),
        "slot": Slot.objects.filter(centre__district__region__in=regions).count(),
        "slot_released": Slot.objects.filter(
            centre__district__region__in=regions, released=True
        ).count(),
    }
    return result
