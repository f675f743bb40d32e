"""Dates the team can keep: before a reply date is promised, whether the SE who would answer can
keep it (pure logic; the capacity step gathers the facts from the store).

The model, in the words ``explain`` uses:
- an SE answers the earliest date first (the SE copy and the alerts show each date);
- they get through ``replies_per_day`` replies a business day, on the days they are in;
- so a new reply due at P waits for every reply they owe that is due by P, and is likely done
  when that work is; it must not push a reply they owe after P past its date either (where it
  would, the new one goes after it);
- their record: ``record_percentile`` of their replies in the last weeks took at most R (business
  time); a date sooner than R from now is not likely kept either.
The policy date stands when the SE's likely time is by it; otherwise the gateway looks for an SE
who can keep it, and when nobody can, promises the earliest likely time (rounded up to the hour)
and alerts the lead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from gateway.promise.calendar import BusinessCalendar
from gateway.promise.words import when

# The owed replies looked at, soonest first. An SE who owes more (at 7 a day, 29 business days of
# work, when a reply date is at most three days out) keeps no new date whatever the rest are;
# their likely time is then a lower bound, and each message's check stays as cheap with a
# backlog of 10,000 as with 200 (the check is O(owed) per message: unbounded, a backlog took
# O(n^2)).
OWED_MAX = 200


@dataclass(frozen=True)
class Candidate:
    """What the gateway knows about one SE who could answer."""

    se: str
    name: str
    owed: Sequence[datetime]  # the reply dates they owe (one per ticket), or none when swamped
    per_day: float  # replies a business day
    record: timedelta | None  # the record's percentile of their reply times, if enough replies
    away: Callable[[date], bool]
    swamped: bool = False  # they owe more than OWED_MAX (their dates are not read)


@dataclass(frozen=True)
class Estimate:
    se: str
    likely: datetime  # when the reply is likely done
    keeps: bool  # whether the policy date can be kept
    why: str  # in words, for explain and the alert


def estimate(cal: BusinessCalendar, now: datetime, due: datetime, c: Candidate) -> Estimate:
    """When ``c`` would likely answer a new reply due at ``due``."""
    owed = sorted(c.owed)
    if c.swamped or len(owed) > OWED_MAX:
        return _swamped(cal, now, c)
    done = _completions(cal, now, c, len(owed) + 1)  # done[m]: when m replies are through
    first = sum(1 for d in owed if d <= due)  # the new one waits for these
    # The earliest place in their queue that makes no reply they owe late that would be kept.
    fits = [True] * (len(owed) + 1)
    for j in range(len(owed) - 1, -1, -1):
        pushed_ok = done[j + 2] <= owed[j] or done[j + 1] > owed[j]
        fits[j] = fits[j + 1] and pushed_ok
    place = next(i for i in range(first, len(owed) + 1) if fits[i])
    likely = done[place + 1]
    if place > first:  # after a reply due later than ours: not before its date
        likely = max(likely, owed[place - 1])
    floor = cal.add_business_time(now, c.record) if c.record is not None else now
    likely = max(likely, floor)
    keeps = likely <= due
    tz = cal.tz
    parts = [
        f"{c.name}: {first} repl{'y' if first == 1 else 'ies'} owed by then at {c.per_day:g} a day"
    ]
    if place > first:
        parts.append(f"{place - first} more owed later would be made late")
    if c.record is not None:
        parts.append(f"recent replies took up to {_hours(c.record)} business hours")
    parts.append(f"likely {when(likely, tz)}")
    return Estimate(c.se, likely, keeps, ", ".join(parts))


def _swamped(cal: BusinessCalendar, now: datetime, c: Candidate) -> Estimate:
    """More than ``OWED_MAX`` replies owed: not before all of the first ``OWED_MAX`` are done."""
    likely = _through(cal, now, c, OWED_MAX + 1)
    why = (
        f"{c.name}: more than {OWED_MAX} replies owed at {c.per_day:g} a day,"
        f" not before {when(likely, cal.tz)}"
    )
    return Estimate(c.se, likely, False, why)


def choose(
    cal: BusinessCalendar, now: datetime, due: datetime, candidates: Sequence[Candidate]
) -> tuple[Estimate, list[Estimate]]:
    """The SE to answer and every estimate looked at: the first candidate (the routed SE) if
    they can keep ``due``, else whoever can keep it soonest, else whoever is likely soonest."""
    estimates = [estimate(cal, now, due, c) for c in candidates]
    if estimates[0].keeps:
        return estimates[0], estimates
    keeping = [e for e in estimates if e.keeps]
    pool = keeping or estimates
    return min(pool, key=lambda e: e.likely), estimates


def honest(cal: BusinessCalendar, likely: datetime) -> datetime:
    """A date to promise for a reply likely done at ``likely``: the next whole hour, or the
    close of that day when the hour falls after it."""
    local = likely.astimezone(cal.tz)
    hour = local.replace(minute=0, second=0, microsecond=0)
    if hour < local:
        hour += timedelta(hours=1)
    return min(hour, cal.end_of_day(local.date())) if cal.is_open(likely) else likely


def percentile(values: Sequence[timedelta], pct: int) -> timedelta:
    """The nearest-rank percentile (``pct`` of ``values`` are at most it)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _through(cal: BusinessCalendar, now: datetime, c: Candidate, n: int) -> datetime:
    """When ``n`` replies are through: the last of :func:`_completions`, walking the days
    rather than the replies."""
    need = n / c.per_day  # business days of work
    day = cal.local_date(now)
    for _ in range(3660):
        windows = () if c.away(day) else cal.windows(day)
        if windows and need > 1 and now <= windows[0][0]:
            need -= 1  # a whole business day ahead, and more work after it
            day += timedelta(days=1)
            continue
        length = sum((b - a for a, b in windows), timedelta())
        for start, end in windows:
            start = max(start, now)
            if start >= end:
                continue
            share = (end - start) / length
            if need <= share:
                return start + length * need
            need -= share
        day += timedelta(days=1)
    return now + timedelta(days=3660)


def _completions(cal: BusinessCalendar, now: datetime, c: Candidate, n: int) -> list[datetime]:
    """``[now, when 1 reply is through, ..., when n are]`` on the SE's business days."""
    out = [now]
    day = cal.local_date(now)
    left = 1.0 / c.per_day  # of a business day, for the next reply
    for _ in range(3660):  # ten years of days: beyond, the SE is never in
        if len(out) > n:
            return out
        windows = () if c.away(day) else cal.windows(day)
        length = sum((b - a for a, b in windows), timedelta())
        for start, end in windows:
            start = max(start, now)
            while start < end and len(out) <= n:
                need = length * left
                if start + need <= end:
                    start += need
                    out.append(start)
                    left = 1.0 / c.per_day
                else:
                    left -= (end - start) / length
                    start = end
        day += timedelta(days=1)
    never = now + timedelta(days=3660)  # a date nobody would read as a promise: the lead is told
    return out + [never] * (n + 1 - len(out))


def _hours(d: timedelta) -> str:
    return f"{d.total_seconds() / 3600:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class Check:
    """What the capacity step decided for a new ticket's reply date."""

    policy_due: datetime  # the date the policy gives
    chosen: Estimate  # who answers, and when they likely will
    looked_at: list[Estimate]  # every SE considered, the routed one first

    @property
    def reply_due(self) -> datetime:
        """The date to promise: the policy's when it can be kept, else an honest later one."""
        return self.policy_due if self.chosen.keeps else self.chosen.likely
