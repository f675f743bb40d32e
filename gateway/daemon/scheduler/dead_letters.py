"""The scheduler's job: Dead letters: a customer's mail the relay refused for good, told to the
SE and SC once."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from gateway.core.log import event
from gateway.core.models import MailKind
from gateway.mail.mime import Envelope
from gateway.mail.templating import Template
from gateway.promise.ledger import CUSTOMER_KINDS
from gateway.store import (
    Db,
    outbox,
    tickets,
)

if TYPE_CHECKING:
    from gateway.daemon.scheduler import Scheduler

log = logging.getLogger("gateway.scheduler")

# What a customer's mail the relay refused was, in the SE's alert (one for each customer kind).
DEAD_WORDS: dict[MailKind, str] = {
    MailKind.ACK: "the acknowledgement",
    MailKind.REPLY: "the engineer's reply",
    MailKind.ETA: "the date an engineer set",
    MailKind.REVISED_ETA: "a revised date",
    MailKind.STATUS_UPDATE: "a status update",
    MailKind.MERGE_NOTICE: "the notice that two of their tickets are one",
}


async def run(sch: Scheduler, now: datetime) -> int:
    """A customer's mail the relay refused for good: the SE and SC hear of it once (else the
    customer waits for an answer that never left)."""
    dead = await sch.store.run(lambda db: outbox.dead_unalerted(db, CUSTOMER_KINDS))
    told = 0
    for row in dead:
        told += await sch.per_ticket(
            row.ticket_id, now, partial(partial(_dead_letter, sch), row, now)
        )
    return told


def _dead_letter(sch: Scheduler, row: outbox.DeadLetter, now: datetime, db: Db) -> bool:
    t = tickets.get(db, row.ticket_id)
    what = DEAD_WORDS.get(MailKind(row.kind), "a mail")
    mail = sch.s.composer.build(
        MailKind.DEAD_LETTER_ALERT,
        Template.DEAD_LETTER_ALERT,
        t,
        Envelope(to=(t.se,), cc=(t.sc,) if t.sc else ()),
        {
            "customer_name": sch.people(t)["customer_name"],
            "what": what,
            "recipients": list(row.recipients),
            "error": row.error or "(no reply recorded)",
        },
        subject=f"[{t.key}] Not delivered to the customer: {what}",
    )
    sch.queue(db, t, [mail], now)
    outbox.mark_alerted(db, row.id)
    event(log, "dead-letter-alert", ticket=t.key, outbox_id=row.id, kind=row.kind)
    return True
