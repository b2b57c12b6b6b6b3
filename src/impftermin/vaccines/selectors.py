"""Who may be offered which vaccine (eligibility by age and the region's rules)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from impftermin.centres.selectors import vaccines_offered
from impftermin.core.errors import ServiceError
from impftermin.regions.models import District
from impftermin.vaccines.models import DistrictAllocation, Vaccine

OLDEST_AGE = 130


@dataclass
class Eligibility:
    """The vaccines a person may be offered, and in plain words why not the others."""

    age: int
    vaccines: list[Vaccine] = field(default_factory=list)
    reasons: list[str | Promise] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return bool(self.vaccines)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def vaccine_eligibility(
    *, district: District, birth_date: object, today: dt.date | None = None
) -> Eligibility:
    """Age decides (each vaccine's own ages, and the region's minimum age); only vaccines
    the district's centres vaccinate with are offered."""
    today = today or timezone.localdate()
    if not isinstance(birth_date, dt.date) or isinstance(birth_date, dt.datetime):
        raise ServiceError(
            "birth_date_invalid", _("Bitte geben Sie Ihr Geburtsdatum an."), field="birth_date"
        )
    if birth_date > today or age_on(birth_date, today) > OLDEST_AGE:
        raise ServiceError(
            "birth_date_invalid",
            _("Bitte prüfen Sie Ihr Geburtsdatum."),
            field="birth_date",
        )
    age = age_on(birth_date, today)
    result = Eligibility(age=age)
    region = district.region
    if age < region.min_age:
        result.reasons.append(
            ngettext_lazy(
                "In der Region %(region)s können derzeit nur Personen ab %(min_age)d Jahr einen Termin buchen.",
                "In der Region %(region)s können derzeit nur Personen ab %(min_age)d Jahren einen Termin buchen.",
                "min_age",
            )
            % {"region": region.name, "min_age": region.min_age}
        )
        return result
    offered = vaccines_offered(district_id=district.pk)
    if not offered:
        result.reasons.append(
            _("Im Kreis %(district)s wird derzeit kein Impfstoff angeboten.")
            % {"district": district.name}
        )
    for vaccine in offered:
        if age < vaccine.min_age:
            result.reasons.append(
                _("%(vaccine)s ist erst ab %(age)d Jahren zugelassen.")
                % {"vaccine": vaccine.name, "age": vaccine.min_age}
            )
        elif vaccine.max_age is not None and age > vaccine.max_age:
            result.reasons.append(
                _("%(vaccine)s wird nur bis zum Alter von %(age)d Jahren angeboten.")
                % {"vaccine": vaccine.name, "age": vaccine.max_age}
            )
        else:
            result.vaccines.append(vaccine)
    return result


def doses_allocated(*, district_id: int, vaccine_id: int) -> int:
    """All doses of this vaccine allocated to the district so far (R9)."""
    total = DistrictAllocation.objects.filter(
        district_id=district_id, delivery__vaccine_id=vaccine_id
    ).aggregate(doses=Sum("doses"))["doses"]
    return total or 0


def first_doses_allowed(*, district_id: int, vaccine: Vaccine) -> int:
    """How many people may get a first dose from the district's allocation: for a
    two-dose vaccine every first dose holds its second back (issue 7)."""
    return doses_allocated(district_id=district_id, vaccine_id=vaccine.pk) // max(vaccine.doses, 1)
