"""``#priority low|normal|high|urgent``: shown on the SE's copies and alerts; an urgent ticket
gets a short status update every business hour (``sla.urgent_update_business_hours``) while the
ball is in our court. A priority with targets in ``[[sla.priorities]]`` moves the ticket's
resolution target (a date an engineer promised stands), and the customer's next new question
gets its reply target."""

from __future__ import annotations

from typing import get_args

from gateway.commands.base import Acting, Command
from gateway.core.config import Priority
from gateway.pipeline.work import tier_of
from gateway.promise import ledger
from gateway.store import tickets

LEVELS: tuple[str, ...] = get_args(Priority)


def syntax(arg: str) -> tuple[str, str]:
    level = arg.strip().lower()
    return level, "" if level in LEVELS else f"priority is one of {', '.join(LEVELS)}"


def run(a: Acting, level: str) -> None:
    s, t = a.s, a.ticket
    tickets.set_priority(a.db, t.id, level)
    hours = s.config.sla.urgent_update_business_hours
    every = f"; the customer gets a short update every {hours:g} business hour(s) we owe them"
    a.done.append(f"priority set to {level}" + (every if level == "urgent" and hours else ""))
    if any(p.name == level for p in s.config.sla.priorities):
        due = s.policy.plan(t.received_at, tier_of(s, t.account), level).resolution_due
        words = s.when(due, t)
        if ledger.retarget_resolution(a.db, t, due, a.now, words, a.sender):
            a.done.append(
                f"resolution target now {a.staff_when(due)} (internal: the customer is not told)"
            )


COMMAND = Command("priority", "#priority <level>", run, needs_arg=True, syntax=syntax)
