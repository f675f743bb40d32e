"""``#priority low|normal|high|urgent``: shown on the SE's copies and alerts; an urgent ticket
gets a short status update every business hour (``sla.urgent_update_business_hours``) while the
ball is in our court."""

from __future__ import annotations

from gateway.commands.base import Acting, Command
from gateway.store import tickets

LEVELS = ("low", "normal", "high", "urgent")


def syntax(arg: str) -> tuple[str, str]:
    level = arg.strip().lower()
    return level, "" if level in LEVELS else f"priority is one of {', '.join(LEVELS)}"


async def run(a: Acting, level: str) -> None:
    await tickets.set_priority(a.db, a.ticket.id, level)
    hours = a.s.config.sla.urgent_update_business_hours
    every = f"; the customer gets a short update every {hours:g} business hour(s) we owe them"
    a.done.append(f"priority set to {level}" + (every if level == "urgent" and hours else ""))


COMMAND = Command("priority", "#priority <level>", run, needs_arg=True, syntax=syntax)
