"""Clock-driven work: missed dates are revised before the customer chases, silences are broken.

Each pass, in one transaction per ticket:
- **missed commitments** (still open ``revise_before_minutes`` before they pass, so the customer
  hears the new date before the old one passes; with 0, past due by the grace) are marked missed
  (one miss a moment, however many dates it moves). On a ticket still
  waiting for its first engineer reply, and for any date an engineer set, the customer gets a
  revised date (a new commitment that supersedes the missed one); the SE and SC get an alert, and
  from the ``escalate_after_misses``-th miss on a ticket the escalation contact too. The
  policy's resolution date is a *target* the customer was never promised: when it passes, only
  the SE and SC are alerted (to set a date with ``#eta resolve`` or resolve it). A resolution date
  an engineer set is a promise, revised like any other.
- **status updates**: a ticket we owe something on, with no mail to the customer for
  ``status_update_business_days`` business days, gets a short update (subject, status, dates).

Tickets waiting on the customer or resolved get neither. Marking, superseding and queueing share a
transaction, so each miss produces exactly one revision however often the scheduler runs.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from gateway.core.log import event
from gateway.core.models import Outbound, Periodic, Ticket
from gateway.core.waits import wait_any
from gateway.daemon.metrics import Metrics
from gateway.daemon.scheduler import (
    cover,
    customer_reports,
    dead_letters,
    retention,
    revise,
    sc_digests,
    status_updates,
    warn_due,
)
from gateway.pipeline.work import Services
from gateway.promise.ledger import queue_mail
from gateway.store import Db, Store, shunts, tickets
from gateway.store.db import database_errors, transient

log = logging.getLogger("gateway.scheduler")

# A pass, in order: each job returns how many tickets got mail queued; retention comes last.
Job = Callable[["Scheduler", datetime], Awaitable[int]]
JOBS: tuple[Job, ...] = (
    cover.run,
    warn_due.run,
    revise.run,
    status_updates.run,
    dead_letters.run,
    sc_digests.run,  # after the dates' jobs: the digest tells what they did
    customer_reports.run,
)


class Scheduler:
    def __init__(
        self,
        store: Store,
        services: Services,
        on_queued: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.s = services
        self.wake = asyncio.Event()
        self._on_queued = on_queued
        self.metrics = metrics
        self.last_error = ""
        self.shunted = 0  # tickets waiting for a retry after an error (for /healthz)
        self.update_times_known = False  # computed again once at start and after a reload
        self.retained_at: datetime | None = None  # the last retention pass
        # (kind, whom) -> the day a digest or report was last looked at and settled: the
        # database is asked once a day, not every pass (another gateway may have sent it).
        self.sent_on: dict[tuple[Periodic, str], date] = {}

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self.wake.clear()
            try:
                await self.tick()
            except database_errors() as exc:  # the database (locked, disk full): the next tick
                event(log, "database-error", logging.ERROR, error=f"{type(exc).__name__}: {exc}")
            await wait_any(self.wake, stopping, timeout=self.s.config.scheduler.tick_seconds)

    def policy_changed(self) -> None:
        """After a reload: status update times are computed again with the new policy."""
        self.update_times_known = False

    async def tick(self) -> int:
        """One pass; return how many tickets got mail queued. A ticket that fails is shunted
        (kept with its reason, retried with backoff) and the others go on."""
        now = self.s.clock.now()
        queued = 0
        for job in JOBS:
            queued += await job(self, now)
        await retention.run(self, now)
        self.shunted = await self.store.run(shunts.count)
        if queued:
            self._on_queued()
        return queued

    async def per_ticket(self, ticket_id: int, now: datetime, job: Callable[[Db], bool]) -> bool:
        """Run ``job`` in the ticket's own transaction; on an error that is not the database's,
        roll it back, shunt the ticket and go on with the others."""

        def whole(db: Db) -> bool:
            tickets.lock(db, ticket_id)  # a gateway processing its mail finishes first
            done = job(db)
            if done:
                shunts.clear(db, ticket_id)
            return done

        try:
            return await self.store.run(whole)
        except Exception as exc:
            if transient(exc):
                raise  # can pass: the whole tick is tried again
            reason = "".join(traceback.format_exception(exc))
            retry = self.s.config.retry

            def shunt(db: Db) -> tuple[int, float]:
                failures = shunts.attempts(db, ticket_id) + 1
                delay = retry.delay(failures)
                shunts.record(db, ticket_id, reason, now, now + timedelta(seconds=delay))
                return failures, delay

            failures, delay = await self.store.run(shunt)
            if self.metrics is not None:
                self.metrics.internal_errors.labels(component="scheduler").inc()
            self.last_error = f"ticket {ticket_id}: {type(exc).__name__}: {exc}"
            log.error(
                "ticket-shunted ticket_id=%s attempt=%s retry_in=%.0fs error=%s",
                ticket_id,
                failures,
                delay,
                reason,
            )
            return False

    def fault(self, component: str, exc: Exception) -> None:
        """Our fault in a job about no one ticket (a digest, a report): logged with its
        traceback and counted; nothing was recorded, so the next pass tries again."""
        if transient(exc):
            raise exc
        if self.metrics is not None:
            self.metrics.internal_errors.labels(component="scheduler").inc()
        self.last_error = f"{component}: {type(exc).__name__}: {exc}"
        log.error("%s-failed error=%s", component, "".join(traceback.format_exception(exc)))

    def told(self, t: Ticket) -> dict[str, object]:
        """The names a mail to the customer says: theirs and their SE's."""
        return {"customer_name": t.customer_name or t.customer_address, "se_name": self.se(t)}

    def people(self, t: Ticket) -> dict[str, object]:
        """The names a mail to our people says: the customer's, the SE's and the SC's."""
        d = self.s.directory
        return self.told(t) | {"sc_name": d.name_of(t.sc) if t.sc else ""}

    def se(self, t: Ticket) -> str:
        return self.s.directory.name_of(t.se)

    def queue(self, db: Db, t: Ticket, mails: list[Outbound], now: datetime) -> None:
        for reason in queue_mail(db, t, mails, now, self.s.config.safety):
            event(log, "withheld", ticket=t.key, reason=reason)
