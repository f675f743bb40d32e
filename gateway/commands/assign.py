"""``#assign <name or address>``: another SE takes the ticket, and gets the whole story."""

from __future__ import annotations

from gateway.commands.base import Acting, Command
from gateway.pipeline import handover
from gateway.store import tickets


def check(a: Acting, arg: str) -> str:
    person = a.s.directory.find_person(arg)
    if person is None or not a.s.directory.is_se(person.address):
        return f"{arg} is not a configured SE"
    return ""


def run(a: Acting, arg: str) -> None:
    s, d = a.s, a.s.directory
    person = d.find_person(arg)
    assert person is not None  # checked before acting
    tickets.update(a.db, a.ticket.id, se=person.address)
    a.mails.append(
        handover.handed_over(
            s,
            a.db,
            a.fresh(),
            by=d.name_of(a.sender),
            cover_reason="",
            sending=a.mails,
            now=a.now,
        )
    )
    a.done.append(f"assigned to {person.name}")


COMMAND = Command("assign", "#assign <SE>", run, needs_arg=True, check=check)
