"""Business-hours arithmetic (pure: no I/O, no clock).

Instants go in and come out timezone-aware in UTC; the support time zone is used only inside,
to find where each local day's open windows fall. Windows are half-open ``[start, end)``, so an
instant equal to a window's end is closed; a deadline computed here may equal a window's end
("by 17:00"), which is the latest instant still inside business time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from gateway.core.config import HoursSection

# A calendar with no open day in ten years is a configuration error, not a loop to spin in.
_HORIZON_DAYS = 3660

Window = tuple[datetime, datetime]


class BusinessCalendar:
    """Open hours per weekday (several windows allowed), minus holidays and closed dates."""

    def __init__(
        self,
        tz: ZoneInfo,
        weekly: list[list[tuple[time, time]]],
        is_holiday: Callable[[date], bool] = lambda d: False,
    ) -> None:
        if len(weekly) != 7:
            raise ValueError("weekly needs 7 lists of windows, Monday first")
        self.tz = tz
        self._weekly = weekly
        self._is_holiday = is_holiday
        self._windows = lru_cache(maxsize=4096)(self._compute_windows)

    @classmethod
    def from_config(cls, hours: HoursSection) -> BusinessCalendar:
        public = holidays.country_holidays(
            hours.holidays_country, subdiv=hours.holidays_subdivision or None
        )
        closed = frozenset(hours.closed_dates)
        return cls(ZoneInfo(hours.timezone), hours.weekly(), lambda d: d in closed or d in public)

    def shift(self, tz: ZoneInfo, weekly: list[list[tuple[time, time]]]) -> BusinessCalendar:
        """One person's working hours: ``weekly`` in their time zone, on this calendar's
        business days only (the team's holidays and closed dates are theirs too)."""
        return BusinessCalendar(tz, weekly, self._is_holiday)

    # -- days -------------------------------------------------------------------------------

    def is_business_day(self, d: date) -> bool:
        return bool(self._weekly[d.weekday()]) and not self._is_holiday(d)

    def local_date(self, t: datetime) -> date:
        return _aware(t).astimezone(self.tz).date()

    def business_day_after(self, d: date, n: int = 1) -> date:
        """The n-th business day after ``d`` (``d`` itself never counts)."""
        if n < 0:
            raise ValueError("n must not be negative")
        for _ in range(n):
            d = self._next_business_day(d + timedelta(days=1))
        return d

    def _next_business_day(self, d: date) -> date:
        """``d`` if it is a business day, else the next one."""
        for _ in range(_HORIZON_DAYS):
            if self.is_business_day(d):
                return d
            d += timedelta(days=1)
        raise ValueError("the calendar has no business day in ten years")

    def windows(self, d: date) -> tuple[Window, ...]:
        """Open windows of local day ``d`` as UTC instants (none on closed days)."""
        return self._windows(d)

    def _compute_windows(self, d: date) -> tuple[Window, ...]:
        if not self.is_business_day(d):
            return ()
        out = []
        for start, end in self._weekly[d.weekday()]:
            a = datetime.combine(d, start, tzinfo=self.tz).astimezone(UTC)
            b = datetime.combine(d, end, tzinfo=self.tz).astimezone(UTC)
            if b > a:
                out.append((a, b))
        return tuple(out)

    def end_of_day(self, d: date) -> datetime:
        """Close of business on day ``d`` (which must be a business day)."""
        wins = self.windows(d)
        if not wins:
            raise ValueError(f"{d} is not a business day")
        return wins[-1][1]

    def _windows_from(self, t: datetime) -> Iterator[Window]:
        """Windows ending after ``t``, in order, starting with the local day of ``t``."""
        # Start one day early: a window may straddle local midnight in UTC terms.
        d = self.local_date(t) - timedelta(days=1)
        for _ in range(_HORIZON_DAYS):
            for w in self.windows(d):
                if w[1] > t:
                    yield w
            d += timedelta(days=1)
        raise ValueError("the calendar has no open hours in ten years")

    # -- instants ---------------------------------------------------------------------------

    def is_open(self, t: datetime) -> bool:
        t = _aware(t)
        return any(a <= t < b for a, b in self.windows(self.local_date(t)))

    def next_open(self, t: datetime) -> datetime:
        """``t`` if open, else the start of the next open window."""
        t = _aware(t)
        start, _ = next(self._windows_from(t))
        return max(start, t)

    def within(self, due: datetime, after: datetime) -> datetime:
        """``due`` when it falls in open time (or is a window's close), else the latest close
        of a window before it that is after ``after``; when there is none, the close of the
        first window after ``due`` (a date is never one at a closed hour)."""
        due = _aware(due)
        if self.is_open(due) or any(b == due for _, b in self.windows(self.local_date(due))):
            return due
        d = self.local_date(due)
        for _ in range(14):
            ends = [b for _, b in self.windows(d) if after < b <= due]
            if ends:
                return max(ends)
            d -= timedelta(days=1)
        return next(self._windows_from(due))[1]

    def add_business_days(self, t: datetime, n: int) -> datetime:
        """The same local wall time ``n`` business days after ``t``'s local day.

        Friday 10:15 plus one business day is Monday 10:15 (holidays skipped). When that wall
        time is closed on the target day (different hours, or a DST gap), the next open instant.
        A closed ``t`` counts from the next open instant, which keeps the result monotonic in
        ``t`` (Saturday noon plus one business day is Tuesday at opening, not Monday).
        """
        local = self.next_open(t).astimezone(self.tz)
        target = self.business_day_after(local.date(), n)
        wall = datetime.combine(target, local.time().replace(tzinfo=None), tzinfo=self.tz)
        return self.next_open(wall.astimezone(UTC))

    def add_business_time(self, t: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of open time has passed after ``t``."""
        t = _aware(t)
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        left = duration
        for a, b in self._windows_from(t):
            a = max(a, t)
            if a + left <= b:
                return a + left
            left -= b - a
        raise AssertionError("unreachable: _windows_from raises first")

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Open time in ``[a, b)``; negative when ``b`` is before ``a``."""
        a, b = _aware(a), _aware(b)
        if b < a:
            return -self.business_time_between(b, a)
        total = timedelta(0)
        for start, end in self._windows_from(a):
            if start >= b:
                break
            total += min(end, b) - max(start, a)
        return total


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("naive datetime: the gateway only handles timezone-aware instants")
    return t.astimezone(UTC)
