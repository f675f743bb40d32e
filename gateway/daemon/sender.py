"""Drains the outbox over SMTP: the only component that sends (the conversation with the relay
itself is :mod:`gateway.daemon.relay`'s, in a worker thread).

A row is marked sent only after the relay's ``250`` to ``DATA``; a crash between the two resends
the same bytes (same Message-ID) once. While mail waits, it goes over up to ``smtp.connections``
connections at once (a distant relay's round trips overlap), a few mails at a time in one call
to a connection's thread; at most :data:`gateway.daemon.drain.UNMARKED_MAX` are ever being
sent, or sent and not yet marked, over all of them. 4xx replies and connection trouble are
retried with capped exponential backoff; 5xx replies, and mail still failing after
``smtp.give_up_hours``, are dead-lettered with the relay's words.

Only the relay's failures are the relay's (:data:`RELAY_ERRORS`). Any other exception while
sending is a fault of ours: it is logged with its traceback and counted
(``gateway_internal_errors_total{component="sender"}``), the row is held and tried again with the
same backoff but never dead-lettered for it (a dead letter says the relay refused the mail), and
``/healthz`` shows the sender degraded until the row goes.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from gateway.core.clock import Clock
from gateway.core.config import SmtpSection
from gateway.core.log import event
from gateway.core.waits import backoff, wait_any
from gateway.daemon import relay
from gateway.daemon.drain import FEWER_FOR, PAGE, Drain, Marks, on_relay
from gateway.daemon.metrics import Metrics
from gateway.daemon.oauth2 import TokenSource
from gateway.daemon.relay import RELAY_ERRORS, Failure, classify_error
from gateway.store import Db, Store, outbox
from gateway.store.outbox import OutboxRow

log = logging.getLogger("gateway.sender")


@dataclass(frozen=True)
class _Mail:
    row: OutboxRow
    recipients: list[str]  # those it goes to
    blocked: dict[str, str]  # those it does not go to now (a recent bounce), and why


class Sender:
    def __init__(
        self,
        store: Store,
        cfg: SmtpSection,
        clock: Clock,
        tick: float = 30.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.last_result = "unknown"  # for /healthz: ok, or the last failure
        self.store = store
        self.cfg = cfg
        self.clock = clock
        self.tick = tick
        self.wake = asyncio.Event()
        self.sent = 0
        self.tokens = TokenSource(cfg.oauth2_token)  # kept between connections (XOAUTH2)
        self.held: set[int] = set()  # rows held after an internal error (for /healthz)
        # A relay that refused a further connection: how many it took, and until when drains
        # ask for no more than that (see :meth:`connections`).
        self.fewer: tuple[int, datetime] | None = None

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self.wake.clear()
            try:
                await self.drain(stopping)
            except Exception as exc:  # the sender must outlive any one bad moment
                event(log, "sender-error", logging.ERROR, error=f"{type(exc).__name__}: {exc}")
            await wait_any(self.wake, stopping, timeout=self.tick)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after a failure of a row already tried ``attempts`` times."""
        cfg = self.cfg
        return timedelta(
            seconds=backoff(attempts + 1, cfg.retry_initial_seconds, cfg.retry_max_seconds)
        )

    async def drain(self, stopping: asyncio.Event | None = None) -> int:
        """Send every due row, a page at a time, over up to ``smtp.connections`` connections;
        return how many were sent. (Mail queued while a page is sent is picked up by the next
        page, not left for the next tick.)"""
        rows, blocked = await self.store.run(partial(self.page, after=0))
        if not rows:
            return 0
        # Rows taken but not yet sent or failed (PostgreSQL claims them: given back at the end).
        unsent = {row.id for row in rows}
        try:
            # A password may come from a command: read it off the event loop.
            secret = await asyncio.to_thread(relay.password, self.cfg)
        except Exception as exc:  # the secret cannot be read: ours to mend, nothing is lost
            await self._internal(rows, exc, "reading the relay's secret")
            return 0
        try:
            smtp = await asyncio.to_thread(relay.connect, self.cfg, secret, self.tokens)
        except RELAY_ERRORS as exc:
            failure = classify_error(exc)
            for row in rows:
                await self._failed(row, Failure(False, f"relay unreachable: {failure.text}"))
            return 0
        except Exception as exc:
            await self._internal(rows, exc, "connecting to the relay")
            return 0
        try:
            return await Drain(self, rows, blocked, unsent, stopping).send(smtp, secret)
        finally:
            if unsent and self.store.postgres:
                now = self.clock.now()
                await self.store.run(lambda db: outbox.unclaim(db, sorted(unsent), now))

    def connections(self) -> int:
        """How many connections a drain may open now: ``smtp.connections``, or for a while
        after the relay refused one, as many as it took then."""
        if self.fewer is not None:
            took, until = self.fewer
            if self.clock.now() < until:
                return took
            self.fewer = None
        return self.cfg.connections

    def refused_after(self, took: int) -> None:
        """The relay refused a further connection with ``took`` open: ask for no more for
        :data:`FEWER_FOR` (no connection opened only to be refused, and logged, each drain)."""
        self.fewer = (took, self.clock.now() + FEWER_FOR)

    def page(self, db: Db, after: int) -> tuple[list[OutboxRow], dict[str, str]]:
        """The next page of due rows, and which of their recipients must get no mail now."""
        now = self.clock.now()
        rows = outbox.due(db, now, PAGE, after)
        addresses = tuple(dict.fromkeys(a for row in rows for a in row.recipients))
        return rows, outbox.undeliverable(db, addresses, now)

    async def next_run(
        self, queue: list[OutboxRow], undeliverable: dict[str, str], unsent: set[int], most: int
    ) -> list[_Mail]:
        """The next rows to send in one go (at most ``most``), each with the recipients it goes
        to; a row whose addressee cannot have mail now fails here instead (and is done: off
        ``unsent``)."""
        run: list[_Mail] = []
        while queue and len(run) < most:
            row = queue.pop(0)
            blocked = {a: why for a, why in undeliverable.items() if a in row.recipients}
            recipients = [r for r in row.recipients if r not in blocked]
            # The first recipient is the one the mail is for (To:); copies without it mislead.
            if not recipients or row.recipients[0] in blocked:
                reasons = "; ".join(f"{a}: {why}" for a, why in blocked.items())
                await self._failed(row, Failure(True, f"undeliverable (recent bounce): {reasons}"))
                unsent.discard(row.id)
                continue
            run.append(_Mail(row, recipients, blocked))
        return run

    async def send(
        self,
        smtp: smtplib.SMTP,
        run: list[_Mail],
        marks: Marks,
        stopping: asyncio.Event | None,
        unsent: set[int],
    ) -> int:
        """Send ``run`` over the connection in one call to the relay's thread (each call costs
        more CPU than a small mail's conversation) and record each outcome; return how many went.
        Stopped half-way, the mails the relay took are still marked sent. Each mail tried is
        taken off ``unsent``."""
        outcomes: list[relay.Outcome] = []
        mails = [(m.row.mail_from, m.recipients, m.row.raw) for m in run]

        def go_on() -> bool:
            return stopping is None or not stopping.is_set()

        try:
            await on_relay(smtp, partial(relay.send_run, smtp, mails, go_on, outcomes))
        except asyncio.CancelledError:
            for mail, outcome in zip(run, outcomes, strict=False):
                if isinstance(outcome, dict):
                    marks.add(*self._mark(mail, outcome))
            raise
        finally:
            marks.give_back(len(run) - sum(isinstance(o, dict) for o in outcomes))
        sent = 0
        for mail, outcome in zip(run, outcomes, strict=False):
            unsent.discard(mail.row.id)
            if isinstance(outcome, dict):
                marks.add(*self._mark(mail, outcome))
                sent += 1
            elif isinstance(outcome, RELAY_ERRORS):
                await self._failed(mail.row, classify_error(outcome))
            else:
                await self._internal([mail.row], outcome, "sending")
        return sent

    def _mark(
        self, mail: _Mail, refused: dict[str, relay.Refusal]
    ) -> tuple[Callable[[Db], None], Callable[[], None]]:
        """The "sent" mark of a mail the relay took, and what to do once it is committed."""
        row, now = mail.row, self.clock.now()
        deferred = tuple(r for r, resp in refused.items() if resp.code < 500)
        skipped = [f"{a}: not sent, undeliverable ({why})" for a, why in mail.blocked.items()]
        refusals = [f"{r}: {resp.code} {resp.message}" for r, resp in refused.items()]
        note = "; ".join(refusals + skipped) or None

        def sent(db: Db) -> None:
            outbox.mark_sent(db, row.id, now, note)
            if deferred:
                outbox.requeue_for(
                    db, row, deferred, now + self.backoff(row.attempts), note or "", now
                )

        def recorded() -> None:
            self.sent += 1
            self.held.discard(row.id)
            self.last_result = "ok"
            if self.metrics is not None:
                self.metrics.sent.labels(row.kind).inc()
            event(
                log,
                "sent",
                outbox_id=row.id,
                kind=row.kind,
                message_id=row.message_id,
                rcpt=",".join(row.recipients),
                refused=note or "",
            )

        return sent, recorded

    async def _internal(self, rows: list[OutboxRow], exc: Exception, doing: str) -> None:
        """A fault of ours while ``doing``: each row held for a retry, never dead-lettered."""
        error = f"internal error {doing}: {type(exc).__name__}: {exc}"
        log.error("sender-internal-error doing=%s rows=%s", doing, len(rows), exc_info=exc)
        if self.metrics is not None:
            self.metrics.internal_errors.labels(component="sender").inc()
        now = self.clock.now()
        retry_at = {row.id: now + self.backoff(row.attempts) for row in rows}

        def hold(db: Db) -> None:
            for row_id, at in retry_at.items():
                outbox.mark_retry(db, row_id, at, error)

        await self.store.run(hold)
        self.held.update(retry_at)
        for row in rows:
            event(
                log,
                "send-held",
                logging.WARNING,
                outbox_id=row.id,
                message_id=row.message_id,
                retry_at=retry_at[row.id].isoformat(),
            )

    async def _failed(self, row: OutboxRow, failure: Failure) -> None:
        self.held.discard(row.id)  # the relay's failure now, not ours
        now = self.clock.now()
        self.last_result = f"failing: {failure.text}"
        if self.metrics is not None:
            self.metrics.send_failures.labels(
                "permanent" if failure.permanent else "temporary"
            ).inc()
        give_up = row.created_at + timedelta(hours=self.cfg.give_up_hours)
        if failure.permanent or now >= give_up:
            reason = failure.text if failure.permanent else f"gave up: {failure.text}"
            await self.store.run(lambda db: outbox.mark_dead(db, row.id, reason))
            event(
                log,
                "dead-letter",
                logging.ERROR,
                outbox_id=row.id,
                message_id=row.message_id,
                reason=reason,
            )
            return
        next_at = now + self.backoff(row.attempts)
        await self.store.run(lambda db: outbox.mark_retry(db, row.id, next_at, failure.text))
        event(
            log,
            "send-deferred",
            logging.WARNING,
            outbox_id=row.id,
            message_id=row.message_id,
            reason=failure.text,
            retry_at=next_at.isoformat(),
        )
