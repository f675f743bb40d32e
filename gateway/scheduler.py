"""Clock-driven work: commitments that passed unmet get a revised date, told to the customer.

Each missed commitment is marked missed, superseded by a new one, and its mails queued in one
transaction, so each miss produces exactly one revised ETA however often the scheduler runs or
restarts. Only tickets still owed their response are revised (an answered, waiting or resolved
ticket gets none).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import aiosqlite

from gateway.compose import Envelope
from gateway.log import event
from gateway.models import TicketState
from gateway.pipeline import Services
from gateway.store import Store, commitments, outbox, tickets
from gateway.store.commitments import Commitment
from gateway.waiting import wait_any

log = logging.getLogger("gateway.scheduler")

KIND_WORDS = {"actionable": "a reply", "resolution": "a resolution"}
REVISABLE = (TicketState.NEW.value,)


class Scheduler:
    def __init__(
        self, store: Store, services: Services, on_queued: Callable[[], None] = lambda: None
    ) -> None:
        self.store = store
        self.s = services
        self.wake = asyncio.Event()
        self._on_queued = on_queued

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self.wake.clear()
            try:
                await self.tick()
            except Exception as exc:  # one bad ticket must not stop every revision
                event(log, "scheduler-error", logging.ERROR, error=f"{type(exc).__name__}: {exc}")
            await wait_any(self.wake, stopping, timeout=self.s.config.scheduler.tick_seconds)

    async def tick(self) -> int:
        """Revise every missed commitment; return how many revised-ETA mails were queued."""
        now = self.s.clock.now()
        grace = timedelta(minutes=self.s.config.sla.revision_grace_minutes)
        async with self.store.transaction() as db:
            due = await commitments.due_unmet(db, now - grace, REVISABLE)
        by_ticket: dict[int, list[Commitment]] = defaultdict(list)
        for c in due:
            by_ticket[c.ticket_id].append(c)
        for ticket_id, missed in by_ticket.items():
            async with self.store.transaction() as db:
                await self._revise(db, ticket_id, missed, now)
        if by_ticket:
            self._on_queued()
        return len(by_ticket)

    async def _revise(
        self, db: aiosqlite.Connection, ticket_id: int, missed: list[Commitment], now: datetime
    ) -> None:
        s = self.s
        t = await tickets.get(db, ticket_id)
        new_due = s.policy.revised(now)
        revisions = []
        for c in missed:
            await commitments.mark_missed(db, c.id, now)
            due = max(new_due, c.due_at)
            told = s.when(due, t)
            await commitments.make(db, t.id, c.kind, due, told, now, revision_of=c.id)
            revisions.append(
                {
                    "kind": c.kind,
                    "kind_words": KIND_WORDS.get(c.kind, c.kind),
                    "old_words": c.told,
                    "new_words": told,
                }
            )
        d = s.directory
        sc = (t.sc,) if t.sc else ()
        context = {
            "customer_name": t.customer_name or t.customer_address,
            "se_name": d.name_of(t.se),
            "sc_name": d.name_of(t.sc) if t.sc else "",
            "revisions": revisions,
        }
        mails = [
            s.composer.build(
                "revised-eta", "revised_eta", t, Envelope(to=(t.customer_address,), cc=sc), context
            ),
            s.composer.build(
                "missed-alert",
                "missed_alert",
                t,
                Envelope(to=(t.se,), cc=sc),
                context,
                subject=f"[{t.key}] Missed date: revised ETA sent",
            ),
        ]
        for out in mails:
            await tickets.add_message_id(db, out.message_id, t.id, "out")
            await outbox.enqueue(db, out, t.id, now)
        event(
            log,
            "revised-eta",
            ticket=t.key,
            missed=",".join(f"{c.kind}@{c.due_at.isoformat()}" for c in missed),
            new_due=new_due.isoformat(),
        )
