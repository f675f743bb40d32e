"""The scheduler's job: Retention: what is past its keeping time is forgotten, a batch at a time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from gateway.core.log import event
from gateway.store import (
    Db,
    forget,
    outbox,
)

if TYPE_CHECKING:
    from gateway.daemon.scheduler import Scheduler

log = logging.getLogger("gateway.scheduler")

RETENTION_EVERY = timedelta(hours=1)
RETENTION_BATCHES = 20  # of 100 tickets (and 100 held mails) a pass


async def run(sch: Scheduler, now: datetime) -> None:
    """At most hourly (sooner while a backlog remains), in transactions of 100: resolved
    tickets' mail and personal data after ``retention.resolved_mail_days``, held mail after
    ``retention.quarantine_days``."""
    if sch.retained_at is not None and now - sch.retained_at < RETENTION_EVERY:
        return
    # Who got automatic mail is kept as long as the caps look back (a day), no longer.
    await sch.store.run(partial(outbox.forget_automatic, before=now - timedelta(days=2)))
    r = sch.s.config.retention
    if not (r.resolved_mail_days or r.quarantine_days):
        sch.retained_at = now
        return
    tickets = held = 0
    more = False
    for _ in range(RETENTION_BATCHES):
        done = 0
        if r.resolved_mail_days:
            before = now - timedelta(days=r.resolved_mail_days)

            def old_tickets(db: Db, before: datetime = before) -> int:
                ids = forget.resolved_before(db, before, 100)
                forget.forget_tickets(db, ids, now)
                return len(ids)

            n = await sch.store.run(old_tickets)
            tickets += n
            done = max(done, n)
        if r.quarantine_days:
            before = now - timedelta(days=r.quarantine_days)

            def old_held(db: Db, before: datetime = before) -> int:
                return forget.delete_held(db, forget.old_held(db, before, 100))

            n = await sch.store.run(old_held)
            held += n
            done = max(done, n)
        more = done == 100
        if not more:
            break
    sch.retained_at = None if more else now
    if tickets and not more:
        await sch.store.run(forget.compact_search)
    if tickets or held:
        event(log, "retention", tickets_forgotten=tickets, held_mail_deleted=held)
