"""The scheduler's job: Status updates: a ticket we owe something on hears from us at least every
few business days."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from gateway.core.log import event
from gateway.core.models import MailKind, Ticket
from gateway.mail.mime import customer_envelope
from gateway.mail.templating import Template
from gateway.promise.words import dates_owed
from gateway.store import (
    Db,
    commitments,
    participants,
    shunts,
    tickets,
)
from gateway.text.speech import Status

if TYPE_CHECKING:
    from gateway.daemon.scheduler import Scheduler

log = logging.getLogger("gateway.scheduler")


async def run(sch: Scheduler, now: datetime) -> int:
    sla = sch.s.config.sla
    days, hours = sla.status_update_business_days, sla.urgent_update_business_hours
    if days == 0 and hours == 0:
        return 0
    next_update = partial(_next_update, sch)
    forget_times = not sch.update_times_known

    def read(db: Db) -> tuple[list[int], set[int]]:
        if forget_times:
            tickets.forget_update_due(db)
        # Only tickets written to since the last pass have no due time yet (indexed); one
        # owed none (updates for urgent tickets only) is marked so, and not read again.
        unknown = tickets.update_due_unknown(db)
        tickets.set_update_due(
            db, [(tid, next_update(at, priority)) for tid, at, priority in unknown]
        )
        return tickets.updates_due(db, now), shunts.waiting(db, now)

    due, resting = await sch.store.run(read)
    sch.update_times_known = True
    sent = 0
    for ticket_id in due:
        if ticket_id in resting:
            continue

        def job(db: Db, ticket_id: int = ticket_id) -> bool:
            # Again inside the transaction: another mail may have gone out meanwhile.
            if not tickets.updates_due(db, now, ticket_id):
                return False
            _status_update(sch, db, tickets.get(db, ticket_id), now)
            return True

        sent += await sch.per_ticket(ticket_id, now, job)
    return sent


def _next_update(sch: Scheduler, at: datetime, priority: str) -> datetime | None:
    """When a ticket last written to at ``at`` is owed its next status update."""
    sla, cal = sch.s.config.sla, sch.s.calendar
    if priority == "urgent" and sla.urgent_update_business_hours:
        return cal.add_business_time(at, timedelta(hours=sla.urgent_update_business_hours))
    days = sla.status_update_business_days
    return cal.add_business_days(at, days) if days else None


def _status_update(sch: Scheduler, db: Db, t: Ticket, now: datetime) -> None:
    s = sch.s
    following = _next_update(sch, now, t.priority)
    dates = dates_owed(commitments.open_for(db, t.id), lambda due: s.when(due, t))
    context = sch.told(t) | {
        "status_words": Status(t.state.value, sch.se(t)),
        "dates": dates,
        # with no date standing, the next update is the date we give
        "next_words": s.when(following, t) if following else "",
    }
    mail = s.composer.build(
        MailKind.STATUS_UPDATE,
        Template.STATUS_UPDATE,
        t,
        customer_envelope(t, participants.of(db, t.id)),
        context,
    )
    sch.queue(db, t, [mail], now)
    event(log, "status-update", ticket=t.key, state=t.state.value)
