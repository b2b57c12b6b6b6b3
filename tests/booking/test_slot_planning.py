"""Slot generation: within opening hours, public holidays respected (property-based)."""

import datetime as dt

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from impftermin.booking.services import plan_slots
from impftermin.centres.selectors import is_public_holiday
from impftermin.regions.models import Bundesland

TZ = dt.timezone(dt.timedelta(0))


@st.composite
def opening_periods(draw):
    """Non-overlapping periods within one day, on 5-minute boundaries."""
    marks = sorted(
        draw(st.sets(st.integers(min_value=0, max_value=24 * 12 - 1), min_size=2, max_size=6))
    )
    if len(marks) % 2:
        marks = marks[:-1]
    as_time = lambda m: dt.time(m // 12, (m % 12) * 5)  # noqa: E731
    return [(as_time(a), as_time(b)) for a, b in zip(marks[::2], marks[1::2], strict=True)]


weekly_hours = st.dictionaries(st.integers(min_value=0, max_value=6), opening_periods(), max_size=7)
capacities = st.lists(
    st.tuples(st.integers(1, 4), st.sampled_from([5, 10, 15, 20, 30, 60]), st.integers(1, 12)),
    min_size=1,
    max_size=3,
    unique_by=lambda c: c[0],
)


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2030, 12, 31)),
    days=st.integers(min_value=0, max_value=40),
    hours=weekly_hours,
    caps=capacities,
    bundesland=st.sampled_from(Bundesland.values),
    open_on_holidays=st.booleans(),
)
def test_R12_generated_slots_lie_within_opening_hours_and_respect_holidays(
    start, days, hours, caps, bundesland, open_on_holidays
):
    end = start + dt.timedelta(days=days)

    def is_open(day):
        return open_on_holidays or not is_public_holiday(bundesland=bundesland, day=day)

    planned = plan_slots(
        date_from=start, date_to=end, hours_by_weekday=hours, capacities=caps, is_open=is_open
    )
    official = holidays.Germany(subdiv=bundesland, years=range(start.year, end.year + 1))
    minutes_of = {vaccine: minutes for vaccine, minutes, _ in caps}
    seats_of = {vaccine: seats for vaccine, _, seats in caps}
    expected = 0
    day = start
    while day <= end:
        if is_open(day):
            for opens, closes in hours.get(day.weekday(), []):
                length = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
                expected += sum(length // minutes for _, minutes, _ in caps)
        day += dt.timedelta(days=1)
    assert len(planned) == expected
    assert len({(p.vaccine_id, p.start) for p in planned}) == len(planned), "no slot twice"
    for slot in planned:
        local = slot.start.astimezone(slot.start.tzinfo)
        day = local.date()
        assert start <= day <= end
        assert is_open(day)
        if not open_on_holidays:
            assert day not in official
        slot_end = (local + dt.timedelta(minutes=minutes_of[slot.vaccine_id])).time()
        assert any(
            opens <= local.time() and (slot_end <= closes or slot_end == dt.time(0))
            for opens, closes in hours[day.weekday()]
        ), (slot, hours[day.weekday()])
        assert slot.capacity == seats_of[slot.vaccine_id] > 0


def test_R12_weekends_get_slots_like_weekdays():
    saturday = dt.date(2021, 7, 3)
    hours = {5: [(dt.time(8), dt.time(9))], 6: [(dt.time(8), dt.time(9))]}
    planned = plan_slots(
        date_from=saturday,
        date_to=saturday + dt.timedelta(days=1),
        hours_by_weekday=hours,
        capacities=[(1, 15, 2)],
        is_open=lambda day: True,
    )
    assert len(planned) == 8
