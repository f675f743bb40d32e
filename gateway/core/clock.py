"""Injected time.

Logic never calls ``datetime.now()``: it asks a :class:`Clock`. Every instant is timezone-aware
and in UTC; local time exists only at the edges (calendar arithmetic, words in mail).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    """Where the gateway gets the current instant from."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta
        return self._now

    def set(self, instant: datetime) -> datetime:
        return self.advance(instant.astimezone(UTC) - self._now)


def local_time(t: datetime, tz: tzinfo) -> str:
    """An instant as an operator reads it: in ``tz``, its zone named (Mon 23 Nov 2026 10:00
    EST)."""
    return t.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")
