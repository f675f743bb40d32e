"""Takes stored inbound mail through the pipeline: each message all or nothing (a savepoint),
a few messages per transaction when there is a backlog.

A message is quarantined only for its own faults: it cannot be parsed, it is too big, or the
database refuses what it would store the same way every time (a constraint). Anything else is
ours (a bug in a step, a template, a missing file): the message's effects are rolled back, it
stays ``new`` and is retried with backoff, the error is logged with its traceback, counted, and
``/healthz`` says degraded; only after ``retry.max_attempts`` failures does it go to quarantine,
with every reason. Database trouble that can pass (locked, read-only, disk full) rolls back the
whole batch, and every message in it is retried after a pause.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from gateway.core.log import event
from gateway.core.models import Action, InboxState
from gateway.core.waits import wait_any
from gateway.daemon.metrics import Metrics
from gateway.mail.inbound import ParseError
from gateway.pipeline.order import run_pipeline
from gateway.pipeline.work import Services, Work
from gateway.store import Db, Store, inbox
from gateway.store.db import Dialect, conflict, database_errors, refused, transient

log = logging.getLogger("gateway.processor")

BATCH_MESSAGES = 20
BATCH_SECONDS = 0.05
YIELD_AFTER = 0.01  # when another task waits for the database, a batch ends after this long
CONFLICT_PAUSE = 0.05  # seconds before a transaction rolled back by a deadlock goes again
HELD = "held"  # not an Action: nothing happened to the message, it waits for a retry


def _reason(exc: Exception) -> str:
    """What quarantine and the log show: a parse problem in words, anything else with its
    traceback (an operator or a developer has to find the cause)."""
    if isinstance(exc, ParseError):
        return str(exc)
    trace = "".join(traceback.format_exception(exc))
    return f"{type(exc).__name__}: {exc}\n{trace}"


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
        self.held = 0  # messages waiting for a retry after an internal error (for /healthz)
        # How long an idle pass waits for a wake-up before it looks anyway.
        self.idle_seconds = services.config.scheduler.tick_seconds
        self.last_error = ""
        self.done = 0  # messages this processor took to an outcome (a gateway's share of the work)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self.wake.clear()  # before looking, so a wake-up during the pass is not lost
            try:
                await self.process_pending(stopping)
            except database_errors() as exc:
                if conflict(exc):  # another gateway's transaction won: ours goes again now
                    event(log, "database-conflict", logging.INFO, error=exc)
                    await wait_any(stopping, timeout=CONFLICT_PAUSE)
                    continue
                event(log, "database-error", logging.ERROR, error=exc, retry_in=self.retry_seconds)
                await wait_any(stopping, timeout=self.retry_seconds)
                continue
            await wait_any(self.wake, stopping, timeout=self.idle_seconds)

    async def process_pending(self, stopping: asyncio.Event | None = None) -> int:
        """Process every stored message not yet processed; return how many."""
        count = 0
        while stopping is None or not stopping.is_set():
            handled = await self.store.run(self._batch)
            if not handled:
                break
            for w, action, reason in handled:
                self._report(w, action, reason)
            count += len(handled)
        return count

    def _batch(self, db: Db) -> list[tuple[Work, str, str]]:
        """Take the next messages through the pipeline in one transaction, a savepoint each:
        a message that fails is rolled back alone and quarantined, and with a backlog the
        commit (an fsync) is shared. Bounded in count and time, so the outbox rows of the first
        message wait at most BATCH_SECONDS for their commit, and YIELD_AFTER when another task
        waits for the database (the sender's "sent" marks must not starve behind batches)."""
        handled: list[tuple[Work, str, str]] = []
        started = time.monotonic()  # a protocol timer, not business time
        after = 0
        # PostgreSQL: one message a transaction. Several gateways process at once, and a row a
        # message updates (its SE's load) stays locked until the commit: a batch would hold
        # several SEs' rows while waiting for another's (deadlocks), and each other's turn.
        most = 1 if db.dialect is Dialect.POSTGRESQL else BATCH_MESSAGES
        while len(handled) < most:
            spent = time.monotonic() - started
            # At least one message per batch: an empty batch means "nothing left to do", and
            # this thread may lose the CPU for longer than a batch before its first message.
            if handled and (spent > BATCH_SECONDS or (self.store.waiting and spent > YIELD_AFTER)):
                break
            now = self.services.clock.now()
            row = inbox.next_new(db, now, after)
            if row is None:
                break
            after = row.id
            w = Work(row=row, now=now)
            db.execute("SAVEPOINT message")
            try:
                action, reason = self._journey(db, w)
                db.settle()  # a statement of this message's that failed raises here
            except Exception as exc:
                if transient(exc):
                    raise  # can pass (locked, disk full): the batch rolls back, all stay new
                db.execute("ROLLBACK TO message")
                if isinstance(exc, ParseError) or refused(exc):
                    action, reason = self._quarantine(db, w, _reason(exc))
                else:
                    action, reason = self._hold(db, w, exc)
            db.execute("RELEASE message")
            handled.append((w, action, reason))
        if self.held or any(action == HELD for _, action, _ in handled):
            self.held = inbox.held_count(db)
        return handled

    def _journey(self, db: Db, w: Work) -> tuple[str, str]:
        done = run_pipeline(self.services, w, db)
        started = time.thread_time()
        inbox.record_decisions(db, w.row.id, w.decisions)
        inbox.mark_done(
            db,
            w.row.id,
            state=InboxState.SPAM if done.action is Action.SPAM else InboxState.PROCESSED,
            action=done.action.value,
            reason=done.reason,
            message_id=w.msg.message_id if w.msg else None,
            ticket_id=w.ticket.id if w.ticket else None,
            now=w.now,
        )
        self.services.stages.add("record", time.thread_time() - started)
        self.services.stages.messages += 1
        return done.action.value, done.reason

    def _hold(self, db: Db, w: Work, exc: Exception) -> tuple[str, str]:
        """Our fault, not the message's: keep it new and try again later; quarantine it only
        after ``retry.max_attempts`` failures."""
        retry = self.services.config.retry
        error = _reason(exc)
        row = w.row
        attempts = inbox.failed_attempts(db, row.id) + 1
        delay = retry.delay(attempts)
        inbox.hold(db, row.id, error, w.now + timedelta(seconds=delay))
        self.last_error = f"inbox {row.id}: {error.splitlines()[0]}"
        if self.metrics is not None:
            self.metrics.internal_errors.labels(component="processor").inc()
        log.error(
            "internal-error inbox_id=%s attempt=%s of=%s retry_in=%s error=%s",
            row.id,
            attempts,
            retry.max_attempts,
            "never" if attempts >= retry.max_attempts else f"{delay:.0f}s",
            error,
        )
        if attempts >= retry.max_attempts:
            return self._quarantine(
                db,
                w,
                f"gave up after {attempts} attempts; the errors were ours, not the message's:"
                f"\n{error}",
            )
        return HELD, f"internal error, attempt {attempts} of {retry.max_attempts}: " + (
            error.splitlines()[0]
        )

    def _quarantine(self, db: Db, w: Work, reason: str) -> tuple[str, str]:
        action = Action.QUARANTINE.value
        inbox.record_decisions(db, w.row.id, [*w.decisions, ("quarantine", "quarantine", reason)])
        inbox.mark_done(
            db,
            w.row.id,
            state=InboxState.QUARANTINED,
            action=action,
            reason=reason,
            message_id=w.msg.message_id if w.msg else None,
            ticket_id=None,
            now=w.now,
        )
        return action, reason

    def _report(self, w: Work, action: str, reason: str) -> None:
        if action == HELD:
            return  # logged with its traceback by _hold; nothing happened to the message
        self.done += 1
        event(
            log,
            "message",
            inbox_id=w.row.id,
            message_id=w.msg.message_id if w.msg else "",
            ticket=w.ticket.key if w.ticket else "",
            action=action,
            reason=without_quotes(reason.splitlines()[0]),
        )
        if self.metrics is not None:
            lag = (self.services.clock.now() - w.row.received_at).total_seconds()
            self.metrics.observe_message(w.mail_class or "", action, lag)
        self.on_done()


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def without_quotes(reason: str) -> str:
    """A decision's reason for the log: what was decided, never the words quoted in it (the
    customer's question, the SE's answer); ``explain`` and the web view show them to staff."""
    return _QUOTED.sub("“…”", reason)[:300]
