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
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from gateway.core.log import event
from gateway.core.models import DateKind, MailKind, Outbound, Ticket, TicketState
from gateway.core.waits import wait_any
from gateway.daemon.metrics import Metrics
from gateway.mail.mime import Envelope, customer_envelope, staff_subject
from gateway.mail.templating import Template
from gateway.pipeline import handover
from gateway.pipeline.acting import relay_for
from gateway.pipeline.work import Services
from gateway.promise.ledger import CUSTOMER_KINDS, queue_mail
from gateway.promise.routing import Load
from gateway.promise.words import dates_owed, kind_words
from gateway.steps.capacity import likely_date
from gateway.store import (
    Db,
    Store,
    commitments,
    forget,
    leave,
    outbox,
    participants,
    shunts,
    tickets,
)
from gateway.store.commitments import Commitment
from gateway.store.db import database_errors, transient
from gateway.text.speech import Status

log = logging.getLogger("gateway.scheduler")

OWED = (TicketState.NEW.value, TicketState.ANSWERED.value)
RETENTION_EVERY = timedelta(hours=1)
RETENTION_BATCHES = 20  # of 100 tickets (and 100 held mails) a pass
# What a customer's mail the relay refused was, in the SE's alert (one for each customer kind).
DEAD_WORDS: dict[MailKind, str] = {
    MailKind.ACK: "the acknowledgement",
    MailKind.REPLY: "the engineer's reply",
    MailKind.ETA: "the date an engineer set",
    MailKind.REVISED_ETA: "a revised date",
    MailKind.STATUS_UPDATE: "a status update",
    MailKind.MERGE_NOTICE: "the notice that two of their tickets are one",
}


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
        self._update_times_known = False  # computed again once at start and after a reload
        self._retained_at: datetime | None = None  # the last retention pass

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
        self._update_times_known = False

    async def tick(self) -> int:
        """One pass; return how many tickets got mail queued. A ticket that fails is shunted
        (kept with its reason, retried with backoff) and the others go on."""
        now = self.s.clock.now()
        queued = (
            await self._cover(now)
            + await self._warn_due(now)
            + await self._revise_missed(now)
            + await self._status_updates(now)
            + await self._dead_letters(now)
        )
        await self._retention(now)
        self.shunted = await self.store.run(shunts.count)
        if queued:
            self._on_queued()
        return queued

    # -- cover: an away SE's tickets go to who is in -------------------------------------------

    async def _cover(self, now: datetime) -> int:
        """Each open ticket of an SE who is away today moves to who covers (the product's
        backup, the account's SE, else the least-loaded SE who is in), who gets the whole
        story; customer mail from then on names the person actually on it."""
        s = self.s
        today = s.calendar.local_date(now)
        s.directory.set_mail_leave(await self.store.run(lambda db: leave.current(db, today)))
        away = [se for se in s.directory.ses() if not s.directory.available(se, today)]
        if not away:
            return 0
        ids = await self.store.run(lambda db: tickets.open_of(db, away))
        moved = 0
        for ticket_id in ids:

            def job(db: Db, ticket_id: int = ticket_id) -> bool:
                t = tickets.get(db, ticket_id)
                if t.state is TicketState.RESOLVED or s.directory.available(t.se, today):
                    return False
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
                self._queue(db, t, [mail], now)
                event(log, "cover", ticket=t.key, away=t.se, to=new, why=why)
                return True

            moved += await self._per_ticket(ticket_id, now, job)
        return moved

    async def _per_ticket(self, ticket_id: int, now: datetime, job: Callable[[Db], bool]) -> bool:
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

    # -- dates about to pass: the SE hears first -----------------------------------------------

    async def _warn_due(self, now: datetime) -> int:
        """An SE whose reply date (or a point's) would pass unmet within
        ``sla.warn_before_minutes`` business minutes gets one note per ticket, once per date,
        while there is still time to answer (a date that close to its revision is left to it)."""
        s, sla = self.s, self.s.config.sla
        if not sla.warn_before_minutes:
            return 0
        horizon = s.calendar.add_business_time(now, timedelta(minutes=sla.warn_before_minutes))
        after = now + timedelta(minutes=sla.revise_before_minutes)

        def read(db: Db) -> tuple[list[Commitment], set[int]]:
            return commitments.unwarned_before(db, horizon, after, OWED), shunts.waiting(db, now)

        due, resting = await self.store.run(read)
        warned = 0
        for ticket_id in dict.fromkeys(c.ticket_id for c in due):
            if ticket_id in resting:
                continue

            def job(db: Db, ticket_id: int = ticket_id) -> bool:
                soon = commitments.unwarned_before(db, horizon, after, OWED, ticket_id)
                if not soon:
                    return False
                t = tickets.get(db, ticket_id)
                commitments.mark_warned(db, [c.id for c in soon], now)
                self._queue(db, t, [self._warning(t, soon, now)], now)
                event(log, "due-soon", ticket=t.key, se=t.se, dates=len(soon))
                return True

            warned += await self._per_ticket(ticket_id, now, job)
        return warned

    def _warning(self, t: Ticket, soon: list[Commitment], now: datetime) -> Outbound:
        s = self.s

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
            Envelope(to=(t.se,), reply_to=relay_for(s, t)),
            {
                "author": "the gateway",
                "note": f"{t.key} ({t.customer_name or t.customer_address}) is due soon: {lines}."
                " Reply to this mail with your answer, or with #eta <when> for a new date (the"
                " customer is told); otherwise the customer gets a revised date"
                f" {s.config.sla.revise_before_minutes} minutes before it passes.",
            },
            subject=staff_subject(t, "Due soon", t.subject),
        )

    # -- missed dates ------------------------------------------------------------------------

    async def _revise_missed(self, now: datetime) -> int:
        sla = self.s.config.sla
        # A date nobody kept is revised before it passes (the customer was told we would write
        # before then), or with revise_before_minutes = 0 a grace after it passed.
        if sla.revise_before_minutes:
            cutoff = now + timedelta(minutes=sla.revise_before_minutes)
        else:
            cutoff = now - timedelta(minutes=sla.revision_grace_minutes)

        def read(db: Db) -> tuple[list[Commitment], set[int]]:
            return commitments.due_unmet(db, cutoff, OWED), shunts.waiting(db, now)

        due, resting = await self.store.run(read)
        revised = 0
        for ticket_id in dict.fromkeys(c.ticket_id for c in due):
            if ticket_id in resting:
                continue

            def job(db: Db, ticket_id: int = ticket_id) -> bool:
                # Read again inside the ticket's transaction: a date met by an engineer's reply
                # processed since the list above was read is neither missed nor revised.
                missed = commitments.due_unmet_for(db, ticket_id, cutoff, OWED)
                return bool(missed) and self._revise(db, ticket_id, missed, now)

            revised += await self._per_ticket(ticket_id, now, job)
        return revised

    def _revise(self, db: Db, ticket_id: int, missed: list[Commitment], now: datetime) -> bool:
        s = self.s
        t = tickets.get(db, ticket_id)
        # (one met or superseded meanwhile is neither missed nor revised)
        marked = [c for c in missed if commitments.mark_missed(db, c.id, now)]
        # The policy's revised date, or later when the SE is unlikely to keep even that (the
        # replies they owe first, at their pace): a revised date missed again is worse than the
        # first miss. Read once this ticket's missed dates no longer count as owed.
        new_due = likely_date(s, db, t.se, s.policy.revised(now), now)
        revisions, internal = [], []
        for c in marked:
            line: dict[str, Any] = {
                "kind": c.kind,
                "kind_words": kind_words(c.kind, c.point),
                "old_words": s.when(c.due_at, t),
                "new_words": "",
                "passed": c.due_at <= now,  # or about to: the customer hears it before
            }
            if not c.promised:  # a target the customer was never promised: alerts only
                internal.append(line)
            elif t.state is TicketState.NEW or c.kind in (
                DateKind.UPDATE,
                DateKind.POINT,
                DateKind.RESOLUTION,
            ):
                # (a resolution here is an engineer's promise: revised like any date told)
                due = max(new_due, c.due_at)
                line["new_words"] = s.when(due, t)
                commitments.make(
                    db,
                    t.id,
                    c.kind,
                    due,
                    line["new_words"],
                    now,
                    revision_of=c.id,
                    made_by="revision",
                    point=c.point,
                    promised=c.promised,
                )
                revisions.append(line)
            else:
                internal.append(line)
        if not revisions and not internal:
            return False
        # Points missed together with the reply they belong to are covered by its line.
        if any(r["kind"] == DateKind.ACTIONABLE for r in revisions):
            revisions = [r for r in revisions if r["kind"] != DateKind.POINT]
        misses = commitments.missed_count(db, t.id)
        escalate = misses >= s.config.sla.escalate_after_misses and s.config.routing.escalation
        context = self._people(t) | {
            "revisions": revisions,
            "internal": internal,
            "misses": misses,
            "escalated": bool(escalate),
        }
        mails = []
        sc = (t.sc,) if t.sc else ()
        if revisions:
            mails.append(
                s.composer.build(
                    MailKind.REVISED_ETA,
                    Template.REVISED_ETA,
                    t,
                    customer_envelope(t, participants.of(db, t.id)),
                    context,
                )
            )
        cc = tuple(dict.fromkeys([*sc, *([s.config.routing.escalation] if escalate else [])]))
        mails.append(
            s.composer.build(
                MailKind.MISSED_ALERT,
                Template.MISSED_ALERT,
                t,
                Envelope(to=(t.se,), cc=cc),
                context,
                subject=f"[{t.key}] "
                + (
                    "Date about to be missed"
                    if any(not r["passed"] for r in revisions)
                    else "Missed date"
                )
                + (": revised date sent to the customer" if revisions else ": please set a date"),
            )
        )
        self._queue(db, t, mails, now)
        event(
            log,
            "missed",
            ticket=t.key,
            misses=misses,
            escalated=bool(escalate),
            revised=",".join(r["kind"] for r in revisions) or "-",
            internal=",".join(r["kind"] for r in internal) or "-",
            new_due=new_due.isoformat(),
        )
        return True

    # -- status updates ----------------------------------------------------------------------

    async def _status_updates(self, now: datetime) -> int:
        sla = self.s.config.sla
        days, hours = sla.status_update_business_days, sla.urgent_update_business_hours
        if days == 0 and hours == 0:
            return 0
        next_update = self._next_update
        forget_times = not self._update_times_known

        def read(db: Db) -> tuple[list[int], set[int]]:
            if forget_times:
                tickets.forget_update_due(db)
            # Only tickets written to since the last pass have no due time yet (indexed).
            unknown = tickets.update_due_unknown(db)
            tickets.set_update_due(
                db,
                [
                    (tid, next_at)
                    for tid, at, priority in unknown
                    if (next_at := next_update(at, priority)) is not None
                ],
            )
            return tickets.updates_due(db, now), shunts.waiting(db, now)

        due, resting = await self.store.run(read)
        self._update_times_known = True
        sent = 0
        for ticket_id in due:
            if ticket_id in resting:
                continue

            def job(db: Db, ticket_id: int = ticket_id) -> bool:
                # Again inside the transaction: another mail may have gone out meanwhile.
                if not tickets.updates_due(db, now, ticket_id):
                    return False
                self._status_update(db, tickets.get(db, ticket_id), now)
                return True

            sent += await self._per_ticket(ticket_id, now, job)
        return sent

    def _next_update(self, at: datetime, priority: str) -> datetime | None:
        """When a ticket last written to at ``at`` is owed its next status update."""
        sla, cal = self.s.config.sla, self.s.calendar
        if priority == "urgent" and sla.urgent_update_business_hours:
            return cal.add_business_time(at, timedelta(hours=sla.urgent_update_business_hours))
        days = sla.status_update_business_days
        return cal.add_business_days(at, days) if days else None

    def _status_update(self, db: Db, t: Ticket, now: datetime) -> None:
        s = self.s
        following = self._next_update(now, t.priority)
        dates = dates_owed(commitments.open_for(db, t.id), lambda due: s.when(due, t))
        people = self._people(t)
        context = people | {
            "status_words": Status(t.state.value, str(people["se_name"])),
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
        self._queue(db, t, [mail], now)
        event(log, "status-update", ticket=t.key, state=t.state.value)

    # -- retention: old mail forgotten, the dates and figures kept -----------------------------

    async def _retention(self, now: datetime) -> None:
        """At most hourly (sooner while a backlog remains), in transactions of 100: resolved
        tickets' mail and personal data after ``retention.resolved_mail_days``, held mail after
        ``retention.quarantine_days``."""
        if self._retained_at is not None and now - self._retained_at < RETENTION_EVERY:
            return
        # Who got automatic mail is kept as long as the caps look back (a day), no longer.
        await self.store.run(partial(outbox.forget_automatic, before=now - timedelta(days=2)))
        r = self.s.config.retention
        if not (r.resolved_mail_days or r.quarantine_days):
            self._retained_at = now
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

                n = await self.store.run(old_tickets)
                tickets += n
                done = max(done, n)
            if r.quarantine_days:
                before = now - timedelta(days=r.quarantine_days)

                def old_held(db: Db, before: datetime = before) -> int:
                    return forget.delete_held(db, forget.old_held(db, before, 100))

                n = await self.store.run(old_held)
                held += n
                done = max(done, n)
            more = done == 100
            if not more:
                break
        self._retained_at = None if more else now
        if tickets and not more:
            await self.store.run(forget.compact_search)
        if tickets or held:
            event(log, "retention", tickets_forgotten=tickets, held_mail_deleted=held)

    # -- mail to the customer given up on ------------------------------------------------------

    async def _dead_letters(self, now: datetime) -> int:
        """A customer's mail the relay refused for good: the SE and SC hear of it once (else the
        customer waits for an answer that never left)."""
        dead = await self.store.run(lambda db: outbox.dead_unalerted(db, CUSTOMER_KINDS))
        told = 0
        for row in dead:
            told += await self._per_ticket(row.ticket_id, now, partial(self._dead_letter, row, now))
        return told

    def _dead_letter(self, row: outbox.DeadLetter, now: datetime, db: Db) -> bool:
        t = tickets.get(db, row.ticket_id)
        what = DEAD_WORDS.get(MailKind(row.kind), "a mail")
        mail = self.s.composer.build(
            MailKind.DEAD_LETTER_ALERT,
            Template.DEAD_LETTER_ALERT,
            t,
            Envelope(to=(t.se,), cc=(t.sc,) if t.sc else ()),
            {
                "customer_name": self._people(t)["customer_name"],
                "what": what,
                "recipients": list(row.recipients),
                "error": row.error or "(no reply recorded)",
            },
            subject=f"[{t.key}] Not delivered to the customer: {what}",
        )
        self._queue(db, t, [mail], now)
        outbox.mark_alerted(db, row.id)
        event(log, "dead-letter-alert", ticket=t.key, outbox_id=row.id, kind=row.kind)
        return True

    # -- shared ------------------------------------------------------------------------------

    def _people(self, t: Ticket) -> dict[str, object]:
        d = self.s.directory
        return {
            "customer_name": t.customer_name or t.customer_address,
            "se_name": d.name_of(t.se),
            "sc_name": d.name_of(t.sc) if t.sc else "",
        }

    def _queue(self, db: Db, t: Ticket, mails: list[Outbound], now: datetime) -> None:
        for reason in queue_mail(db, t, mails, now, self.s.config.safety):
            event(log, "withheld", ticket=t.key, reason=reason)
