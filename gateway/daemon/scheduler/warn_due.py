"""The scheduler's job: dates about to pass. The SE hears first, while there is still time
to answer."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gateway.core.log import event
from gateway.core.models import DateKind, MailKind, Outbound, Ticket
from gateway.mail.mime import Envelope, staff_subject
from gateway.mail.templating import Template
from gateway.pipeline.acting import relay_for
from gateway.store import (
    Db,
    commitments,
    shunts,
    tickets,
)
from gateway.store.commitments import OWED, Commitment

if TYPE_CHECKING:
    from gateway.daemon.scheduler import Scheduler

log = logging.getLogger("gateway.scheduler")


async def run(sch: Scheduler, now: datetime) -> int:
    """An SE whose reply date (or a point's) would pass unmet within
    ``sla.warn_before_minutes`` business minutes gets one note per ticket, once per date,
    while there is still time to answer (a date that close to its revision is left to it)."""
    s, sla = sch.s, sch.s.config.sla
    if not sla.warn_before_minutes:
        return 0
    horizon = s.calendar.add_business_time(now, timedelta(minutes=sla.warn_before_minutes))
    after = now + timedelta(minutes=sla.revise_before_minutes)

    def read(db: Db) -> tuple[list[Commitment], set[int]]:
        return commitments.unwarned_before(db, horizon, after, OWED), shunts.waiting(db, now)

    due, resting = await sch.store.run(read)
    warned = 0
    for ticket_id in dict.fromkeys(c.ticket_id for c in due):
        if ticket_id in resting:
            continue

        def job(db: Db, ticket_id: int = ticket_id) -> bool:
            soon = [
                c
                for c in commitments.unwarned_before(db, horizon, after, OWED, ticket_id)
                if _halfway(c, now)
            ]
            if not soon:
                return False
            t = tickets.get(db, ticket_id)
            commitments.mark_warned(db, [c.id for c in soon], now)
            # Each owner hears of their own dates: the SE, and an SC of the requests they own.
            owners: dict[str, list[Commitment]] = {}
            for c in soon:
                owners.setdefault(c.owner or t.se, []).append(c)
            sch.queue(db, t, [_warning(sch, t, who, cs, now) for who, cs in owners.items()], now)
            event(log, "due-soon", ticket=t.key, se=t.se, dates=len(soon), owners=len(owners))
            return True

        warned += await sch.per_ticket(ticket_id, now, job)
    return warned


def _halfway(c: Commitment, now: datetime) -> bool:
    """A short date (an SC's hour) is warned of once half its time has gone, not the moment
    it is made: the copy that gave it is warning enough."""
    return c.made_at is None or now - c.made_at >= (c.due_at - c.made_at) / 2


def _warning(
    sch: Scheduler, t: Ticket, owner: str, soon: list[Commitment], now: datetime
) -> Outbound:
    s = sch.s

    def said(c: Commitment) -> str:
        what = f"the point \u201c{c.point}\u201d" if c.kind == DateKind.POINT else "your reply"
        left = s.calendar.business_time_between(now, c.due_at)
        hours = round(left.total_seconds() / 3600, 1)
        return f"{what}: by {s.staff_when(c.due_at)} ({hours:g} business hours from now)"

    lines = "; ".join(said(c) for c in soon)
    return s.composer.build(
        MailKind.DUE_SOON,
        Template.NOTE,
        t,
        Envelope(to=(owner,), reply_to=relay_for(s, t)),
        {
            "author": "the gateway",
            "note": f"{t.key} ({t.customer_name or t.customer_address}) is due soon: {lines}."
            " Reply to this mail with your answer, or with #eta <when> for a new date (the"
            " customer is told); otherwise the customer gets a revised date"
            f" {s.config.sla.revise_before_minutes} minutes before it passes.",
        },
        subject=staff_subject(t, "Due soon", t.subject),
    )
