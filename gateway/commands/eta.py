"""``#eta <when>``: a new date for the next step; the customer is told, and it is a commitment
like ours (``+2bd``, ``tomorrow 15:00``, ``today 16:30``, ``2026-11-25 10:00``, ``2026-11-25``)."""

from __future__ import annotations

from gateway import ledger
from gateway.commands.base import Acting, Command, Stage
from gateway.relay import WhenError, parse_when


async def check(a: Acting, arg: str) -> str:
    try:
        parse_when(arg, a.now, a.s.calendar)
    except WhenError as exc:
        return str(exc)
    return ""


async def run(a: Acting, arg: str) -> None:
    """Set before the reply is composed: an answer in the same mail carries the date."""
    a.when = parse_when(arg, a.now, a.s.calendar)
    a.eta_words = a.s.when(a.when, a.ticket)
    await ledger.set_eta(a.db, a.ticket, a.when, a.now, a.eta_words, a.sender)
    a.done.append(f"next date set: {a.eta_words} (the customer is told)")


COMMAND = Command("eta", "#eta <when>", run, stage=Stage.BEFORE_REPLY, needs_arg=True, check=check)
