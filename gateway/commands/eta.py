"""``#eta <when>``: a new date for the next step; ``#eta resolve <when>``: the date the ticket
will be resolved by, a promise (the policy's resolution date is only a target until an engineer
sets one). Either way the customer is told and it is a commitment like ours (``+2bd``,
``tomorrow 15:00``, ``today 16:30``, ``2026-11-25 10:00``, ``2026-11-25``)."""

from __future__ import annotations

from datetime import datetime

from gateway.commands.base import Acting, Command, Stage
from gateway.mail.staff_reply import WhenError, parse_when
from gateway.promise import ledger

RESOLVE = "resolve"


def _split(arg: str) -> tuple[bool, str]:
    """(whether it is a resolution date, the date as written)."""
    first, _, rest = arg.strip().partition(" ")
    if first.lower() == RESOLVE:
        return True, rest.strip()
    return False, arg.strip()


def syntax(arg: str) -> tuple[str, str]:
    resolve, when = _split(arg)
    if resolve and not when:
        return arg, "write #eta resolve <when>, e.g. #eta resolve +3bd"
    return arg, ""


def _when(a: Acting, arg: str) -> tuple[bool, datetime]:
    resolve, when = _split(arg)
    return resolve, parse_when(when, a.now, a.s.calendar)


def check(a: Acting, arg: str) -> str:
    try:
        _when(a, arg)
    except WhenError as exc:
        return str(exc)
    return ""


def run(a: Acting, arg: str) -> None:
    """Set before the reply is composed: an answer in the same mail carries the date."""
    resolve, when = _when(a, arg)
    words = a.s.when(when, a.ticket)
    if resolve:
        a.resolve_words = words
        ledger.set_resolution(a.db, a.ticket, when, a.now, words, a.sender)
        a.done.append(
            f"resolution date set: {a.staff_when(when)} (the customer is told; it is a promise)"
        )
        return
    a.when, a.eta_words = when, words
    ledger.set_eta(a.db, a.ticket, when, a.now, words, a.sender)
    a.done.append(f"next date set: {a.staff_when(when)} (the customer is told)")


COMMAND = Command(
    "eta",
    "#eta [resolve] <when>",
    run,
    stage=Stage.BEFORE_REPLY,
    needs_arg=True,
    syntax=syntax,
    check=check,
)
