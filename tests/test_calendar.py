"""Business-hours arithmetic: fixed cases a customer would check, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.config import HoursSection
from gateway.promise.calendar import BusinessCalendar

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
CAL = BusinessCalendar.from_config(HoursSection())
SPLIT = BusinessCalendar.from_config(
    HoursSection(
        timezone="Europe/Paris",
        holidays_country="FR",
        mon=["08:00-12:00", "13:00-17:00"],
        tue=["08:00-12:00", "13:00-17:00"],
        wed=["09:00-12:00"],
        thu=["08:00-17:00"],
        fri=["08:00-16:00"],
        sat=["10:00-12:00"],
    )
)


def ny(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=NY)


def local(t: datetime, tz: ZoneInfo = NY) -> str:
    return t.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-11-20 10:15", "Mon 2026-11-23 10:15 EST"),  # Friday -> Monday
        ("2026-11-25 10:15", "Fri 2026-11-27 10:15 EST"),  # Thanksgiving (26th) skipped
        ("2026-12-24 16:00", "Mon 2026-12-28 16:00 EST"),  # Christmas Friday, weekend
        ("2026-12-31 09:00", "Mon 2027-01-04 09:00 EST"),  # New Year's Day
        ("2026-10-30 10:00", "Mon 2026-11-02 10:00 EST"),  # across the November DST change
        ("2027-03-12 10:00", "Mon 2027-03-15 10:00 EDT"),  # across the March DST change
    ],
)
def test_add_one_business_day_keeps_the_local_time(start: str, expected: str) -> None:
    assert local(CAL.add_business_days(ny(start), 1)) == expected


def test_thanksgiving_is_closed_and_the_day_after_is_open_by_default() -> None:
    assert not CAL.is_business_day(date(2026, 11, 26))
    assert CAL.is_business_day(date(2026, 11, 27))
    closed = BusinessCalendar.from_config(HoursSection(closed_dates=[date(2026, 11, 27)]))
    assert local(closed.add_business_days(ny("2026-11-25 10:15"), 1)) == "Mon 2026-11-30 10:15 EST"


@pytest.mark.parametrize(
    ("t", "is_open", "next_open"),
    [
        ("2026-11-23 07:59", False, "Mon 2026-11-23 08:00 EST"),
        ("2026-11-23 08:00", True, "Mon 2026-11-23 08:00 EST"),
        ("2026-11-23 16:59", True, "Mon 2026-11-23 16:59 EST"),
        ("2026-11-23 17:00", False, "Tue 2026-11-24 08:00 EST"),
        ("2026-11-25 18:00", False, "Fri 2026-11-27 08:00 EST"),
        ("2026-11-28 12:00", False, "Mon 2026-11-30 08:00 EST"),
    ],
)
def test_open_and_next_open(t: str, is_open: bool, next_open: str) -> None:
    assert CAL.is_open(ny(t)) is is_open
    assert local(CAL.next_open(ny(t))) == next_open


def test_business_time_and_windows() -> None:
    # Friday 16:00 + 2 h of business time = Monday 09:00.
    assert local(CAL.add_business_time(ny("2026-11-20 16:00"), timedelta(hours=2))) == (
        "Mon 2026-11-23 09:00 EST"
    )
    # Lunch break in Paris: Monday 11:30 + 1 h = 13:30.
    t = datetime(2026, 11, 23, 11, 30, tzinfo=PARIS)
    assert (
        local(SPLIT.add_business_time(t, timedelta(hours=1)), PARIS) == "Mon 2026-11-23 13:30 CET"
    )
    # 11:30-13:30 holds 30 min before lunch and 30 min after.
    assert SPLIT.business_time_between(t, t + timedelta(hours=2)) == timedelta(hours=1)
    # Tuesday 15:00 + 1 business day: Wednesday is open only 09-12, so the next open instant.
    assert local(
        SPLIT.add_business_days(datetime(2026, 11, 24, 15, 0, tzinfo=PARIS), 1), PARIS
    ) == ("Thu 2026-11-26 08:00 CET")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.is_open(datetime(2026, 11, 23, 10, 0))


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=200))
calendars = st.sampled_from([CAL, SPLIT])


def _on_boundary_or_open(cal: BusinessCalendar, t: datetime) -> bool:
    return cal.is_open(t) or any(t == b for _, b in cal.windows(cal.local_date(t)))


@settings(max_examples=1500, deadline=None)
@given(cal=calendars, t=instants, d=durations)
def test_adding_business_time_lands_in_open_hours_and_measures_back(
    cal: BusinessCalendar, t: datetime, d: timedelta
) -> None:
    end = cal.add_business_time(t, d)
    assert end >= t
    if d > timedelta(0):
        assert _on_boundary_or_open(cal, end)
    assert cal.business_time_between(t, end) == d


@settings(max_examples=1000, deadline=None)
@given(cal=calendars, a=instants, b=instants, d=durations)
def test_adding_business_time_is_monotonic(
    cal: BusinessCalendar, a: datetime, b: datetime, d: timedelta
) -> None:
    a, b = min(a, b), max(a, b)
    assert cal.add_business_time(a, d) <= cal.add_business_time(b, d)
    assert cal.add_business_days(a, 1) <= cal.add_business_days(b, 1)


@settings(max_examples=1000, deadline=None)
@given(cal=calendars, t=instants, n=st.integers(min_value=0, max_value=10))
def test_business_days_land_in_open_hours(cal: BusinessCalendar, t: datetime, n: int) -> None:
    out = cal.add_business_days(t, n)
    assert cal.is_open(out)
    assert out > t or n == 0


@settings(max_examples=500, deadline=None)
@given(
    d=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    clock=st.times(min_value=time(0, 0), max_value=time(23, 59)),
    fold=st.integers(0, 1),
)
def test_dst_gaps_and_folds_are_handled(d: date, clock: time, fold: int) -> None:
    wall = datetime.combine(d, clock.replace(fold=fold), tzinfo=NY)
    nxt = CAL.next_open(wall)
    assert CAL.is_open(nxt)
    assert nxt >= wall.astimezone(UTC)


def test_dst_day_window_lengths() -> None:
    # 24-hour open windows on the days the clocks change are 23 and 25 hours long.
    full = BusinessCalendar(NY, [[(time(0, 0), time(23, 59, 59, 999999))]] * 7)
    spring = full.windows(date(2027, 3, 14))[0]
    autumn = full.windows(date(2026, 11, 1))[0]
    assert round((spring[1] - spring[0]).total_seconds() / 3600) == 23
    assert round((autumn[1] - autumn[0]).total_seconds() / 3600) == 25
