"""The promise ledger's operations: what happens to commitments when a ticket changes.

Every date told to a customer is a row in ``commitments``; a row is never edited into another
date. A new date (a revision, an engineer's ETA, clocks resumed after waiting on the customer)
is a new row that supersedes the old one, so the ledger shows what we said, when, and what
became of it.
"""

from __future__ import annotations

import email.policy
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.utils import formataddr, getaddresses

from gateway.core.config import SafetySection
from gateway.core.models import DateKind, MailKind, Outbound, Ticket, TicketState
from gateway.promise.calendar import BusinessCalendar
from gateway.store import Db, commitments, outbox, tickets

# Outbox kinds that reach the customer: each one restarts the status-update silence.
CUSTOMER_KINDS = frozenset(
    {
        MailKind.ACK,
        MailKind.REVISED_ETA,
        MailKind.STATUS_UPDATE,
        MailKind.REPLY,
        MailKind.ETA,
        MailKind.MERGE_NOTICE,
    }
)


# Robot-written mail to customers: capped per address, so no misbehaving peer can make us a
# mail cannon (a responder that strips every auto-reply marker and starts new threads).
AUTOMATIC_KINDS = frozenset(
    {MailKind.ACK, MailKind.REVISED_ETA, MailKind.STATUS_UPDATE, MailKind.CUSTOMER_REPORT}
)


def queue_mail(
    db: Db,
    ticket: Ticket,
    mails: list[Outbound],
    now: datetime,
    safety: SafetySection | None = None,
) -> list[str]:
    """Queue composed mail for ``ticket``: the one place that enqueues.

    Returns the reasons of automatic mails withheld by the per-address caps.
    """
    withheld = []
    for out in mails:
        if safety is not None and out.kind in AUTOMATIC_KINDS:
            capped = _over_cap(db, ticket, out, now, safety)
            if out.recipients[0] in capped:  # the mail's own addressee: nothing goes
                withheld.append(f"{out.kind} withheld: {capped[out.recipients[0]]}")
                continue
            if capped:  # a copied address over its cap misses this one mail, nobody else
                out = without(out, tuple(capped))
                withheld.append(
                    f"{out.kind} not sent to "
                    + "; ".join(f"{a} ({why})" for a, why in capped.items())
                )
        tickets.add_message_id(db, out.message_id, ticket.id, "out")
        outbox.enqueue(db, out, ticket.id, now)
        if out.kind in AUTOMATIC_KINDS:
            outbox.record_automatic(db, out.recipients, now)
        if out.kind in CUSTOMER_KINDS:
            tickets.contacted(db, ticket.id, now)
    return withheld


def queue_unfiled(db: Db, mails: list[Outbound], now: datetime) -> None:
    """Queue mail about no one ticket (an account's report, an SC's digest); automatic mail
    counts toward its addressees' caps like any other."""
    for out in mails:
        outbox.enqueue(db, out, None, now)
        if out.kind in AUTOMATIC_KINDS:
            outbox.record_automatic(db, out.recipients, now)


def _over_cap(
    db: Db, ticket: Ticket, out: Outbound, now: datetime, safety: SafetySection
) -> dict[str, str]:
    """The recipients of ``out`` whose mailbox is over a cap, with why. The caps protect
    outsiders; our own SC and SE in CC are not counted."""
    capped = {}
    for rcpt in (r for r in out.recipients if r not in (ticket.sc, ticket.se)):
        hour, day = outbox.automatic_counts(
            db, rcpt, now - timedelta(hours=1), now - timedelta(days=1)
        )
        if hour >= safety.max_auto_per_hour:
            capped[rcpt] = f"its mailbox already got {hour} automatic mails this hour"
        elif day >= safety.max_auto_per_day:
            capped[rcpt] = f"its mailbox already got {day} automatic mails today"
    return capped


def without(out: Outbound, dropped: tuple[str, ...]) -> Outbound:
    """``out`` with ``dropped`` taken out of its recipients and its To and Cc headers."""
    msg = BytesParser(policy=email.policy.SMTP).parsebytes(out.raw)
    gone = {a.lower() for a in dropped}
    for header in ("To", "Cc"):
        kept = [a for a in getaddresses(msg.get_all(header, [])) if a[1].lower() not in gone]
        del msg[header]
        if kept:
            msg[header] = ", ".join(formataddr(a) for a in kept)
    return replace(
        out,
        recipients=tuple(r for r in out.recipients if r.lower() not in gone),
        raw=msg.as_bytes(),
    )


def pause(db: Db, ticket: Ticket, now: datetime) -> None:
    """Waiting on the customer: the clocks stop and no revision or status update goes out."""
    if ticket.state in (TicketState.WAITING, TicketState.RESOLVED):
        return
    tickets.set_state(db, ticket.id, TicketState.WAITING, paused_at=now, paused_from=ticket.state)


def resume(
    db: Db,
    ticket: Ticket,
    now: datetime,
    calendar: BusinessCalendar,
    words: Callable[[datetime], str],
) -> int:
    """The customer replied: every open date moves later by the business time spent waiting.

    Returns how many commitments were moved.
    """
    info = tickets.pause_info(db, ticket.id)
    if ticket.state is not TicketState.WAITING or info is None:
        return 0
    paused_at, previous = info
    waited = calendar.business_time_between(paused_at, now)
    moved = 0
    for c in commitments.open_for(db, ticket.id):
        due = calendar.add_business_time(c.due_at, waited) if waited else c.due_at
        if due != c.due_at:
            commitments.make(
                db,
                ticket.id,
                c.kind,
                due,
                words(due),
                now,
                revision_of=c.id,
                made_by="pause",
                point=c.point,
                promised=c.promised,
            )
            moved += 1
    tickets.set_state(db, ticket.id, previous)
    return moved


def set_eta(db: Db, ticket: Ticket, due: datetime, now: datetime, told: str, by: str) -> None:
    """An engineer's date for the next step: it supersedes the open next-step commitment."""
    current = [
        c
        for c in commitments.open_for(db, ticket.id)
        if c.kind in (DateKind.ACTIONABLE, DateKind.UPDATE)
    ]
    revision_of = current[0].id if current else None
    commitments.make(
        db, ticket.id, DateKind.UPDATE, due, told, now, revision_of=revision_of, made_by=by
    )


def set_resolution(
    db: Db, ticket: Ticket, due: datetime, now: datetime, told: str, by: str
) -> None:
    """An engineer's resolution date (``#eta resolve``): a promise to the customer, superseding
    the open resolution target."""
    current = [c for c in commitments.open_for(db, ticket.id) if c.kind == DateKind.RESOLUTION]
    commitments.make(
        db,
        ticket.id,
        DateKind.RESOLUTION,
        due,
        told,
        now,
        revision_of=current[0].id if current else None,
        made_by=by,
    )


def retarget_resolution(
    db: Db, ticket: Ticket, due: datetime, now: datetime, told: str, by: str
) -> bool:
    """A new priority's resolution *target* (internal, never told the customer) supersedes the
    open target; a resolution date an engineer promised stands. Returns whether it moved."""
    current = [c for c in commitments.open_for(db, ticket.id) if c.kind == DateKind.RESOLUTION]
    if not current or current[0].promised or current[0].due_at == due:
        return False
    commitments.make(
        db,
        ticket.id,
        DateKind.RESOLUTION,
        due,
        told,
        now,
        revision_of=current[0].id,
        made_by=by,
        promised=False,
    )
    return True


def responded(db: Db, ticket: Ticket, now: datetime, points_too: bool = True) -> int:
    """An engineer answered: the next-step commitments (actionable response, engineer ETAs) are
    met, and the customer's points unless ``points_too`` is false (a relayed reply settles them
    one by one with :func:`answer_points`); the resolution date stands. Returns how many were
    met."""
    kinds = (
        (DateKind.ACTIONABLE, DateKind.UPDATE, DateKind.POINT)
        if points_too
        else (DateKind.ACTIONABLE, DateKind.UPDATE)
    )
    met = 0
    for c in commitments.open_for(db, ticket.id):
        if c.kind in kinds:
            commitments.meet_one(db, c.id, now)
            met += 1
    tickets.record_response(db, ticket, now)
    return met


def meet_owned(db: Db, ticket: Ticket, owner: str, now: datetime) -> int:
    """``owner`` (an SC) answered the customer: the points they own on the ticket are met.
    Returns how many."""
    mine = [
        c
        for c in commitments.open_for(db, ticket.id)
        if c.kind == DateKind.POINT and c.owner == owner.lower()
    ]
    for c in mine:
        commitments.meet_one(db, c.id, now)
    return len(mine)


def answer_points(
    db: Db,
    ticket: Ticket,
    answered: set[str] | None,
    carry_due: datetime,
    words: Callable[[datetime], str],
    by: str,
    now: datetime,
    owes: Callable[[commitments.Commitment], bool] = lambda c: True,
) -> list[tuple[str, str]]:
    """The SE's reply answered these points (``None``: all of those it ``owes``). Each other
    open point it owes is carried over: a new commitment to ``carry_due``; a point someone else
    owes (the SC's quote on the SE's ticket) keeps its date unless answered by name. Returns
    (point, date in words) carried."""
    carried = []
    for c in commitments.open_for(db, ticket.id):
        if c.kind != DateKind.POINT:
            continue
        if (answered is None and owes(c)) or (answered is not None and c.point in answered):
            commitments.meet_one(db, c.id, now)
            continue
        if not owes(c):
            continue
        told = words(carry_due)
        commitments.make(
            db,
            ticket.id,
            DateKind.POINT,
            carry_due,
            told,
            now,
            revision_of=c.id,
            made_by=by,
            point=c.point,
            owner=c.owner,
        )
        carried.append((c.point, told))
    return carried


def merge(
    db: Db, survivor: Ticket, merged: Ticket, now: datetime, by: str
) -> list[commitments.Commitment]:
    """``merged`` joins ``survivor`` (see :func:`tickets.merge`). Each of its open dates moves
    over as a new commitment on the survivor, the old one superseded by it (the ledger keeps
    both: what was told on which ticket, and where it went); a status-update date is met by the
    merge notice itself. Returns the dates moved."""
    moved = []
    for c in commitments.open_for(db, merged.id):
        if c.kind == DateKind.UPDATE:
            commitments.meet_one(db, c.id, now)
            continue
        commitments.make(
            db,
            survivor.id,
            c.kind,
            c.due_at,
            c.told,
            now,
            revision_of=c.id,
            made_by=by,
            point=c.point,
            promised=c.promised,
            owner=c.owner,
        )
        moved.append(c)
    tickets.merge(db, survivor, merged, now)
    return moved


def resolve(db: Db, ticket: Ticket, now: datetime) -> None:
    """Resolution meets every open commitment of the ticket."""
    for c in commitments.open_for(db, ticket.id):
        commitments.meet_one(db, c.id, now)
    tickets.set_state(db, ticket.id, TicketState.RESOLVED, resolved_at=now)
