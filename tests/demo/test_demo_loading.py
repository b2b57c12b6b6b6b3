"""Loading the demo data: slots for the weeks asked, idempotent re-runs that keep
bookings and an operator's changes, and never in production."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Max
from django.utils import timezone

from impftermin.booking.models import Appointment, AppointmentPair, PairStatus, Slot
from impftermin.booking.services import pair_book
from impftermin.centres.models import Centre, CentreCapacity, OpeningHours
from impftermin.core.errors import ServiceError
from impftermin.demo.services import demo_data_load
from impftermin.regions.models import District, Postcode, Region
from impftermin.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db


def model_counts() -> dict[str, int]:
    models = [Region, District, Postcode, Postcode.districts.through, Vaccine, Centre]
    models += [OpeningHours, CentreCapacity, Slot, AppointmentPair, Appointment]
    counts = {model._meta.label: model.objects.count() for model in models}
    counts["users"] = get_user_model().objects.count()
    counts["released"] = Slot.objects.filter(released=True).count()
    return counts


def only_some_centres_active(per_region: int = 1) -> list[Centre]:
    """Keep the slot tests quick: slots are generated for active centres only."""
    kept = [
        centre
        for region in Region.objects.all()
        for centre in Centre.objects.filter(district__region=region).order_by("pk")[:per_region]
    ]
    Centre.objects.exclude(pk__in=[c.pk for c in kept]).update(active=False)
    return kept


def test_slots_from_today_for_the_weeks_asked_released_within_each_regions_window():
    demo_data_load(with_slots=False)
    kept = only_some_centres_active()
    Region.objects.filter(slug="hessen").update(release_days_ahead=3)

    result = demo_data_load(weeks=2)

    today = timezone.localdate()
    assert result.slots_created == Slot.objects.count() > 0
    assert set(Slot.objects.values_list("centre_id", flat=True)) == {c.pk for c in kept}
    last = timezone.localdate(Slot.objects.aggregate(last=Max("start"))["last"])
    assert last == today + dt.timedelta(days=13)
    assert not Slot.objects.filter(start__lte=timezone.now()).exists()
    # Every day 08:00-20:00 in 15-minute units, for both vaccines of the centre.
    tomorrow = today + dt.timedelta(days=1)
    for centre in kept:
        assert Slot.objects.filter(centre=centre, start__date=tomorrow).count() == 2 * 48
    # Westfalen-Lippe releases 28 days ahead (all of them); Hessen here only 3.
    wl = Slot.objects.filter(centre__district__region__slug="westfalen-lippe")
    assert not wl.filter(released=False).exists()
    hessen = Slot.objects.filter(centre__district__region__slug="hessen")
    horizon = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=4), dt.time()))
    assert not hessen.filter(start__lt=horizon, released=False).exists()
    assert not hessen.filter(start__gte=horizon, released=True).exists()
    assert hessen.filter(start__gte=horizon).exists()


def test_loading_twice_changes_no_counts_and_keeps_a_booking_made_in_between():
    first_output = io.StringIO()
    call_command("load_demo_data", "--weeks", "1", stdout=first_output)
    assert "53 Kreise" in first_output.getvalue()
    assert "55 Impfzentren" in first_output.getvalue()

    # A citizen books the single-dose vaccine between the two runs.
    janssen_centre = CentreCapacity.objects.filter(vaccine__code="L923").first().centre
    slot = (
        Slot.objects.filter(
            centre=janssen_centre,
            vaccine__code="L923",
            released=True,
            start__gt=timezone.now() + dt.timedelta(hours=1),
        )
        .order_by("start")
        .first()
    )
    booking = pair_book(
        holder="demo-test-person", district_id=janssen_centre.district_id, first_slot_id=slot.pk
    )
    assert booking.booked
    before = model_counts()
    slot_ids = set(Slot.objects.values_list("pk", flat=True))

    second_output = io.StringIO()
    call_command("load_demo_data", "--weeks", "1", stdout=second_output)

    assert model_counts() == before
    assert set(Slot.objects.values_list("pk", flat=True)) == slot_ids
    assert "(neu: 0)" in second_output.getvalue()
    pair = AppointmentPair.objects.get(pk=booking.pairs[0].pk)
    assert pair.status == PairStatus.BOOKED
    slot.refresh_from_db()
    assert slot.booked == 1


def test_a_later_load_with_more_weeks_only_adds_the_days_after_each_centres_last_slot():
    demo_data_load(with_slots=False)
    only_some_centres_active()
    demo_data_load(weeks=1)
    first_week = {
        (s.centre_id, s.vaccine_id, s.start): (s.pk, s.capacity) for s in Slot.objects.all()
    }

    result = demo_data_load(weeks=2)

    assert result.slots_created == Slot.objects.count() - len(first_week) > 0
    kept = {
        (s.centre_id, s.vaccine_id, s.start): (s.pk, s.capacity)
        for s in Slot.objects.filter(pk__in=[pk for pk, _ in first_week.values()])
    }
    assert kept == first_week
    last_of_first = max(start for _c, _v, start in first_week)
    added = Slot.objects.exclude(pk__in=[pk for pk, _ in first_week.values()])
    assert not added.filter(start__lte=last_of_first).exists()


def test_loading_again_keeps_what_an_operator_or_user_changed():
    demo_data_load(with_slots=False)
    operator = get_user_model().objects.get(username="operator")
    operator.set_password("a-new-secret-password")
    operator.save()
    capacity = CentreCapacity.objects.filter(vaccine__code="L920").first()
    capacity.seats_per_slot = 20
    capacity.save()
    centre = capacity.centre
    OpeningHours.objects.filter(centre=centre, weekday=6).delete()  # closed on Sundays

    demo_data_load(with_slots=False)

    operator.refresh_from_db()
    assert operator.check_password("a-new-secret-password")
    capacity.refresh_from_db()
    assert capacity.seats_per_slot == 20
    assert not OpeningHours.objects.filter(centre=centre, weekday=6).exists()


def test_demo_data_are_refused_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="Produktion"):
        call_command("load_demo_data", "--weeks", "1", stdout=io.StringIO())
    with pytest.raises(ServiceError) as error:
        demo_data_load(weeks=1)
    assert error.value.code == "demo_in_production"
    with pytest.raises(CommandError, match="Produktion"):
        call_command("demo_info", stdout=io.StringIO())
    assert not Region.objects.exists()
    assert not get_user_model().objects.exists()


def test_a_number_of_weeks_out_of_range_is_refused():
    with pytest.raises(ServiceError) as error:
        demo_data_load(weeks=0)
    assert error.value.code == "weeks_invalid"


def test_missing_demo_files_are_a_service_error(tmp_path):
    with pytest.raises(ServiceError) as error:
        demo_data_load(data_dir=tmp_path, with_slots=False)
    assert error.value.code == "demo_data_missing"
    assert not Region.objects.exists()
