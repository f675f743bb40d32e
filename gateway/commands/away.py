"""``#away <first day> [<last day>]``: the writer is away those days (``today``, ``tomorrow`` or
YYYY-MM-DD, inclusive), as if listed in their ``people[].away``: from the first day their open
tickets move to who covers, new tickets go to others, and an away SC's place in CC is taken by
the account's backup SC. Any SE or SC may set their own leave, from any ticket's relay address."""

from __future__ import annotations

from datetime import date, timedelta

from gateway.commands.base import Acting, Command
from gateway.store import leave

LONGEST_DAYS = 366


def _day(word: str, today: date) -> date:
    named = {"today": today, "tomorrow": today + timedelta(days=1)}
    if word.lower() in named:
        return named[word.lower()]
    return date.fromisoformat(word)


def _span(arg: str, today: date) -> tuple[date, date]:
    words = arg.split()
    if not 1 <= len(words) <= 2:
        raise ValueError("write #away <first day> [<last day>], e.g. #away 2026-12-24 2027-01-01")
    try:
        first = _day(words[0], today)
        last = _day(words[-1], today)
    except ValueError:
        raise ValueError(
            f"{arg!r}: days are today, tomorrow or YYYY-MM-DD, e.g. #away 2026-12-24 2027-01-01"
        ) from None
    if last < first:
        raise ValueError(f"{arg!r}: the last day is before the first")
    if last < today:
        raise ValueError(f"{arg!r}: those days are past")
    if (last - first).days >= LONGEST_DAYS:
        raise ValueError(f"{arg!r}: at most a year at a time")
    return first, last


def check(a: Acting, arg: str) -> str:
    try:
        _span(arg, a.s.calendar.local_date(a.now))
    except ValueError as exc:
        return str(exc)
    return ""


def run(a: Acting, arg: str) -> None:
    today = a.s.calendar.local_date(a.now)
    first, last = _span(arg, today)
    leave.add(a.db, a.sender, first, last, a.sender, a.now)
    a.s.directory.set_mail_leave(leave.current(a.db, today))
    span = f"{first:%A %d %B}" + (f" to {last:%A %d %B}" if last != first else "")
    a.done.append(
        f"you are away {span}: on those days your open tickets move to who covers and new ones"
        " go to others (as people[].away in the config)"
    )


COMMAND = Command(
    "away", "#away <first day> [<last day>]", run, needs_arg=True, check=check, sc_may=True
)
