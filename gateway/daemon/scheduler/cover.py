"""The scheduler's job: Cover: an away SE's open tickets go to who covers, with the whole story."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from gateway.core.log import event
from gateway.core.models import TicketState
from gateway.pipeline import handover
from gateway.promise.routing import Load
from gateway.store import (
    Db,
    leave,
    tickets,
)

if TYPE_CHECKING:
    from gateway.daemon.scheduler import Scheduler

log = logging.getLogger("gateway.scheduler")


async def run(sch: Scheduler, now: datetime) -> int:
    """Each open ticket of an SE who is away today moves to who covers (the product's
    backup, the account's SE, else the least-loaded SE who is in), an SC's (a request they
    own) to the account's backup SC, else the team's default SC; who covers gets the whole
    story; customer mail from then on names the person actually on it."""
    s = sch.s
    today = s.calendar.local_date(now)
    s.directory.set_mail_leave(await sch.store.run(lambda db: leave.current(db, today)))
    # SEs, and SCs (the owners of requests they own: a quote, an invoice) away today.
    owners = [*s.directory.ses(), *s.directory.scs()]
    away = [who for who in owners if not s.directory.available(who, today)]
    if not away:
        return 0
    ids = await sch.store.run(lambda db: tickets.open_of(db, away))
    moved = 0
    for ticket_id in ids:

        def job(db: Db, ticket_id: int = ticket_id) -> bool:
            t = tickets.get(db, ticket_id)
            if t.state is TicketState.RESOLVED or s.directory.available(t.se, today):
                return False
            if s.directory.is_sc(t.se):
                new = s.directory.sc_cover(t.se, t.account, today)
                why = "SC who covers for the account"
            else:
                stored = tickets.loads(db)
                loads = {se: Load(n, last) for se, (n, last) in stored.items()}
                new, why = s.directory.se_cover(t.product, t.account, today, loads)
            if not new or new.lower() == t.se.lower():
                return False
            tickets.update(db, t.id, se=new)
            mail = handover.handed_over(
                s,
                db,
                tickets.get(db, t.id),
                by="The gateway",
                cover_reason=f"{s.directory.name_of(t.se)} is away today; you are the {why}",
                sending=[],
                now=now,
            )
            sch.queue(db, t, [mail], now)
            event(log, "cover", ticket=t.key, away=t.se, to=new, why=why)
            return True

        moved += await sch.per_ticket(ticket_id, now, job)
    return moved
