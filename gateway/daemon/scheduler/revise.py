"""The scheduler's job: Missed dates: marked missed and revised to the customer before they pass;
the SE and SC alerted."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gateway.core.log import event
from gateway.core.models import DateKind, MailKind, TicketState
from gateway.mail.mime import Envelope, customer_envelope
from gateway.mail.templating import Template
from gateway.promise.words import kind_words
from gateway.steps.capacity import likely_date
from gateway.store import (
    Db,
    commitments,
    participants,
    shunts,
    tickets,
)
from gateway.store.commitments import OWED, Commitment

if TYPE_CHECKING:
    from gateway.daemon.scheduler import Scheduler

log = logging.getLogger("gateway.scheduler")


async def run(sch: Scheduler, now: datetime) -> int:
    sla = sch.s.config.sla
    # A date nobody kept is revised before it passes (the customer was told we would write
    # before then), or with revise_before_minutes = 0 a grace after it passed.
    if sla.revise_before_minutes:
        cutoff = now + timedelta(minutes=sla.revise_before_minutes)
    else:
        cutoff = now - timedelta(minutes=sla.revision_grace_minutes)

    def read(db: Db) -> tuple[list[Commitment], set[int]]:
        return commitments.due_unmet(db, cutoff, OWED), shunts.waiting(db, now)

    due, resting = await sch.store.run(read)
    revised = 0
    for ticket_id in dict.fromkeys(c.ticket_id for c in due):
        if ticket_id in resting:
            continue

        def job(db: Db, ticket_id: int = ticket_id) -> bool:
            # Read again inside the ticket's transaction: a date met by an engineer's reply
            # processed since the list above was read is neither missed nor revised.
            missed = commitments.due_unmet_for(db, ticket_id, cutoff, OWED)
            return bool(missed) and _revise(sch, db, ticket_id, missed, now)

        revised += await sch.per_ticket(ticket_id, now, job)
    return revised


def _revise(
    sch: Scheduler, db: Db, ticket_id: int, missed: list[Commitment], now: datetime
) -> bool:
    s = sch.s
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
            # An SC's point is theirs to keep: the policy's revised date, in their hours.
            owner_due = s.directory.hours_of(c.owner).within(s.policy.revised(now), now)
            due = max(owner_due if c.owner else new_due, c.due_at)
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
                owner=c.owner,
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
    # The customer's mail is given only what it says: the alert's internal lines never.
    customer = sch.told(t) | {"revisions": revisions}
    context = sch.people(t) | {
        "revisions": revisions,
        "internal": internal,
        "misses": misses,
        "escalated": bool(escalate),
    }
    mails = []
    # The alert goes to who owed the dates (the SC for their own points), the SC in CC.
    owners = tuple(dict.fromkeys((c.owner or t.se).lower() for c in marked)) or (t.se,)
    sc = (t.sc,) if t.sc and t.sc.lower() not in owners else ()
    if revisions:
        mails.append(
            s.composer.build(
                MailKind.REVISED_ETA,
                Template.REVISED_ETA,
                t,
                customer_envelope(t, participants.of(db, t.id)),
                customer,
            )
        )
    extra = [s.config.routing.escalation] if escalate else []
    cc = tuple(a for a in dict.fromkeys([*sc, *extra]) if a.lower() not in owners)
    mails.append(
        s.composer.build(
            MailKind.MISSED_ALERT,
            Template.MISSED_ALERT,
            t,
            Envelope(to=owners, cc=cc),
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
    sch.queue(db, t, mails, now)
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
