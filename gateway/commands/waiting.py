"""``#waiting``: waiting on the customer; the clocks stop until they reply."""

from __future__ import annotations

from gateway.commands.base import Acting, Command
from gateway.promise import ledger


def run(a: Acting, arg: str) -> None:
    ledger.pause(a.db, a.fresh(), a.now)
    a.done.append("waiting on the customer: dates paused until they reply")


COMMAND = Command("waiting", "#waiting", run)
