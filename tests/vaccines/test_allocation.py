"""R9: doses are allocated per district by population (largest-remainder method)."""

import datetime as dt
import itertools
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from impftermin.core.errors import ServiceError
from impftermin.vaccines.models import Delivery, DistrictAllocation
from impftermin.vaccines.services import allocate_largest_remainder, delivery_record
from tests.factories import make_district, make_region, make_vaccine

populations = st.dictionaries(
    keys=st.text(alphabet="0123456789", min_size=5, max_size=5),
    values=st.integers(min_value=0, max_value=4_000_000),
    min_size=1,
    max_size=60,
).filter(lambda d: sum(d.values()) > 0)


@given(total=st.integers(min_value=0, max_value=10_000_000), weights=populations)
def test_R9_allocation_sums_exactly_to_the_delivery(total, weights):
    parts = allocate_largest_remainder(total, weights)
    assert set(parts) == set(weights)
    assert sum(parts.values()) == total


@given(total=st.integers(min_value=0, max_value=10_000_000), weights=populations)
def test_R9_each_district_gets_its_proportional_share_within_one_dose(total, weights):
    parts = allocate_largest_remainder(total, weights)
    weight_sum = sum(weights.values())
    for key, weight in weights.items():
        quota = Fraction(total * weight, weight_sum)
        assert abs(parts[key] - quota) < 1
        assert parts[key] >= 0


@given(total=st.integers(min_value=0, max_value=100_000), weights=populations)
def test_R9_a_larger_district_never_gets_fewer_doses(total, weights):
    parts = allocate_largest_remainder(total, weights)
    ordered = sorted(weights, key=weights.get)
    for smaller, larger in itertools.pairwise(ordered):
        if weights[smaller] < weights[larger]:
            assert parts[smaller] <= parts[larger]


def test_allocation_refuses_nonsense():
    with pytest.raises(ValueError):
        allocate_largest_remainder(-1, {"a": 1})
    with pytest.raises(ValueError):
        allocate_largest_remainder(10, {"a": 0})


def test_R9_delivery_is_split_to_the_regions_districts_by_population(db):
    region = make_region()
    big = make_district(region, population=600_000)
    small = make_district(region, population=300_000)
    make_district(make_region(), population=1_000_000)  # another region gets nothing
    vaccine = make_vaccine("L920")
    delivery = delivery_record(
        region_id=region.pk, vaccine_id=vaccine.pk, doses=1000, delivered_on=dt.date(2021, 5, 3)
    )
    parts = dict(delivery.allocations.values_list("district_id", "doses"))
    assert parts == {big.pk: 667, small.pk: 333}


def test_bad_input_delivery_to_a_district_of_another_region_changes_nothing(db):
    region = make_region()
    make_district(region)
    foreign = make_district(make_region())
    vaccine = make_vaccine("L920")
    with pytest.raises(ServiceError) as error:
        delivery_record(
            region_id=region.pk,
            vaccine_id=vaccine.pk,
            doses=100,
            delivered_on=dt.date(2021, 5, 3),
            district_ids=[foreign.pk],
        )
    assert error.value.code == "district_not_in_region"
    assert not Delivery.objects.exists() and not DistrictAllocation.objects.exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"vaccine_id": 999}, "unknown_vaccine"),
        ({"region_id": 999}, "unknown_region"),
        ({"doses": 0}, "doses_not_positive"),
        ({"doses": -5}, "doses_not_positive"),
        ({"district_ids": [987654]}, "unknown_district"),
    ],
    ids=["unknown-vaccine", "unknown-region", "zero-doses", "negative-doses", "unknown-district"],
)
def test_bad_input_delivery_is_refused_and_changes_nothing(db, change, code):
    region = make_region()
    make_district(region)
    vaccine = make_vaccine("L920")
    arguments = {
        "region_id": region.pk,
        "vaccine_id": vaccine.pk,
        "doses": 100,
        "delivered_on": dt.date(2021, 5, 3),
    }
    with pytest.raises(ServiceError) as error:
        delivery_record(**(arguments | change))
    assert error.value.code == code
    assert not Delivery.objects.exists()
