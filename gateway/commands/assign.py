"""``#assign <name or address>``: another SE takes the ticket, and gets the whole story."""

from __future__ import annotations

from gateway import handover
from gateway.commands.base import Acting, Command
from gateway.compose import Envelope, staff_subject
from gateway.engineer import relay_for
from gateway.models import MailKind
from gateway.store import tickets
from gateway.templating import Template


async def check(a: Acting, arg: str) -> str:
    person = a.s.directory.find_person(arg)
    if person is None or not a.s.directory.is_se(person.address):
        return f"{arg} is not a configured SE"
    return ""


async def run(a: Acting, arg: str) -> None:
    s, d = a.s, a.s.directory
    person = d.find_person(arg)
    assert person is not None  # checked before acting
    await tickets.update(a.db, a.ticket.id, se=person.address)
    t = await a.fresh()
    a.mails.append(
        s.composer.build(
            MailKind.SE_COPY,
            Template.ASSIGNED,
            t,
            Envelope(to=(person.address,), cc=(t.sc,) if t.sc else (), reply_to=relay_for(s, t)),
            {
                "by": d.name_of(a.sender),
                "cover_reason": "",
                "customer_name": t.customer_name,
                "ticket_question": (await tickets.history(a.db, t.id))["question"],
                **await handover.context(a.db, t, a.mails, a.now, lambda at: s.when(at, t)),
            },
            subject=staff_subject(t, "Assigned to you"),
        )
    )
    a.done.append(f"assigned to {person.name}")


COMMAND = Command("assign", "#assign <SE>", run, needs_arg=True, check=check)
