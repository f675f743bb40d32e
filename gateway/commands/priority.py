"""``#priority low|normal|high|urgent``: shown on the SE's copies."""

from __future__ import annotations

from gateway.commands.base import Acting, Command
from gateway.store import tickets

LEVELS = ("low", "normal", "high", "urgent")


def syntax(arg: str) -> tuple[str, str]:
    level = arg.strip().lower()
    return level, "" if level in LEVELS else f"priority is one of {', '.join(LEVELS)}"


async def run(a: Acting, level: str) -> None:
    await tickets.update(a.db, a.ticket.id, priority=level)
    a.done.append(f"priority set to {level}")


COMMAND = Command("priority", "#priority <level>", run, needs_arg=True, syntax=syntax)
