"""Takes stored inbound mail through the pipeline, one transaction per message.

Anything unexpected quarantines that one message with its traceback and the processor goes on;
database trouble (locked, read-only, disk full) is not the message's fault, so the message stays
``new`` and is retried after a pause.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import traceback
from collections.abc import Callable

from gateway.log import event
from gateway.metrics import Metrics
from gateway.models import Action
from gateway.parse import ParseError
from gateway.pipeline import Done, Services, Work, run_pipeline
from gateway.store import Db, Store, inbox
from gateway.store.inbox import InboxRow
from gateway.waiting import wait_any

log = logging.getLogger("gateway.processor")


class Processor:
    def __init__(
        self,
        store: Store,
        services: Services,
        on_done: Callable[[], None] = lambda: None,
        retry_seconds: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.services = services
        self.on_done = on_done
        self.retry_seconds = retry_seconds
        self.wake = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self.wake.clear()  # before looking, so a wake-up during the pass is not lost
            try:
                await self.process_pending(stopping)
            except sqlite3.Error as exc:
                event(log, "database-error", logging.ERROR, error=exc, retry_in=self.retry_seconds)
                await wait_any(stopping, timeout=self.retry_seconds)
                continue
            await wait_any(self.wake, stopping, timeout=self.services.config.scheduler.tick_seconds)

    async def process_pending(self, stopping: asyncio.Event | None = None) -> int:
        """Process every stored message not yet processed; return how many."""
        count = 0
        while stopping is None or not stopping.is_set():
            row = await self.store.run(inbox.next_new)
            if row is None:
                break
            await self.process(row)
            count += 1
        return count

    async def process(self, row: InboxRow) -> None:
        s = self.services
        w = Work(row=row, now=s.clock.now())

        async def handle(db: Db) -> Done:
            done = await run_pipeline(s, w, db)
            await inbox.record_decisions(db, row.id, w.decisions)
            await inbox.mark_done(
                db,
                row.id,
                state="processed",
                action=done.action.value,
                reason=done.reason,
                message_id=w.msg.message_id if w.msg else None,
                ticket_id=w.ticket.id if w.ticket else None,
                now=w.now,
            )
            return done

        async def quarantine(db: Db) -> None:
            await inbox.record_decisions(
                db, row.id, [*w.decisions, ("quarantine", "quarantine", reason)]
            )
            await inbox.mark_done(
                db,
                row.id,
                state="quarantined",
                action=action,
                reason=reason,
                message_id=w.msg.message_id if w.msg else None,
                ticket_id=None,
                now=w.now,
            )

        try:
            # The whole journey is one job in the database's thread: parsing and composing
            # included, so the event loop stays free for IMAP, SMTP and the watchdog.
            done = await self.store.run(handle)
            action, reason = done.action.value, done.reason
        except sqlite3.Error:
            raise  # not this message's fault: leave it new, the caller retries
        except Exception as exc:
            if isinstance(exc, ParseError):
                reason = str(exc)
            else:
                reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            action = Action.QUARANTINE.value
            await self.store.run(quarantine)
        event(
            log,
            "message",
            inbox_id=row.id,
            message_id=w.msg.message_id if w.msg else "",
            ticket=w.ticket.key if w.ticket else "",
            action=action,
            reason=reason.splitlines()[0],
        )
        if self.metrics is not None:
            lag = (s.clock.now() - row.received_at).total_seconds()
            self.metrics.observe_message(w.mail_class, action, lag)
        self.on_done()
