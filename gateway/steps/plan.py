"""The pipeline's plan step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gateway.core.models import DateKind, TicketState
from gateway.mail import points
from gateway.pipeline.work import Services, Work
from gateway.promise.sla import Promise
from gateway.steps.capacity import likely_date
from gateway.store import Db, commitments


def step_plan(s: Services, w: Work, db: Db) -> None:
    t = w.the_ticket  # w.points: the customer's, as the requests step read them
    if not (w.new_ticket or w.reopened):
        _plan_follow_up(s, w, db)
        return
    w.promises = list(w.policy)
    if w.later is not None:
        w.promises = _later(w.promises, w.later.reply_due)
    for p in w.promises:
        revision_of = None
        # The policy's resolution date is a target until an engineer sets one (#eta resolve).
        promised = p.kind != DateKind.RESOLUTION
        if p.missed is not None:
            revision_of = commitments.make_missed(
                db, t.id, p.kind, p.missed, s.when(p.missed, t), w.now, promised
            )
        commitments.make(
            db, t.id, p.kind, p.due, s.when(p.due, t), w.now, revision_of, promised=promised
        )
        if p.kind == DateKind.ACTIONABLE:  # each of the customer's points is answered by then
            for point in w.points:
                _date_point(s, w, db, point, p.due)
        due = p.due.astimezone(s.calendar.tz).isoformat()
        why = "revised at intake" if p.missed else "policy"
        if p.kind == DateKind.ACTIONABLE and s.directory.is_sc(t.se):
            why = "the SC's target (sla.sc.reply_business_hours, in their working hours)"
        if p.kind == DateKind.ACTIONABLE and w.later is not None:
            why = "nobody can keep the policy's date: the likely one (see capacity)"
        w.decide(f"plan:{p.kind}", due, why)


def _plan_follow_up(s: Services, w: Work, db: Db) -> None:
    """A follow-up: the ticket's dates stand; each point not asked before gets its own date
    (when the reply to a new mail would be due), and the customer an acknowledgement of them."""
    t = w.the_ticket
    known = {points.key(p) for p in commitments.points_of(db, t.id)}
    new = [p for p in w.points if points.key(p) not in known]
    repeated = bool(w.points) and not new  # asked before: a reminder, not news
    w.points = new
    if not new or t.state is TicketState.RESOLVED:  # a courtesy on a resolved ticket
        owed = commitments.owed_of(db, t.id)
        if w.resumed:  # the soonest date we promised, moved (a reply, a point, an engineer's)
            owed = min(
                (c.due_at for c in commitments.open_for(db, t.id) if c.promised), default=owed
            )
        told = (not repeated and _tells_us(w)) or w.resumed
        if t.state is not TicketState.RESOLVED and owed and told:
            # New information while we owe a reply: the customer hears it reached the ticket,
            # and the date that stands (no new date: the reply they are owed covers it). After
            # a wait on them our dates moved: they hear the moved date, whatever they wrote,
            # so no later mail quotes a date as told that was not.
            w.follow_up_due, w.statement = owed, True
            w.decide(
                "plan:follow-up",
                owed.astimezone(s.calendar.tz).isoformat(),
                "the wait on the customer is over: acknowledged with the moved date"
                if w.resumed
                else "new information, nothing new asked: acknowledged with the date that stands",
            )
            return
        w.decide("plan:follow-up", "-", "nothing new asked: the SE gets a copy, no acknowledgement")
        return
    reply = next(p for p in w.policy if p.kind == DateKind.ACTIONABLE)
    due = w.follow_up_due = likely_date(s, db, t.se, reply.due, w.now)
    for point in new:
        _date_point(s, w, db, point, due)
    later = (
        "" if due == reply.due else f" ({s.directory.name_of(t.se)} is likely later: see status)"
    )
    why = f"{len(new)} new point(s), each dated{later}"
    w.decide("plan:follow-up", due.astimezone(s.calendar.tz).isoformat(), why)


def _date_point(s: Services, w: Work, db: Db, point: str, due: datetime) -> None:
    """One of the customer's points, dated: by ``due``, or, when it is a request the SC
    answers on this ticket (a quote beside a technical question), by the SC's own date."""
    t, share = w.the_ticket, w.sc_share
    owner = ""
    if share is not None and any(point == p for p, _ in share.points):
        owner, due = share.owner, share.due
    commitments.make(db, t.id, DateKind.POINT, due, s.when(due, t), w.now, point=point, owner=owner)
    if owner:
        why = f"the SC's request: {s.directory.name_of(owner)} answers it"
        w.decide("plan:point", due.astimezone(s.calendar.tz).isoformat(), why)


def _tells_us(w: Work) -> bool:
    """The follow-up says something (a few words of its own), and is not a thank-you."""
    msg = w.message
    said = points.new_text(msg.text, msg.html)
    return len(said.split()) >= 5 and not points.is_courtesy(msg.text, msg.html)


def _later(promises: list[Promise], reply: datetime) -> list[Promise]:
    """The promises with the reply moved to ``reply`` (a resolution never before the reply)."""
    return [
        replace(p, due=reply if p.kind == DateKind.ACTIONABLE else max(p.due, reply))
        if p.kind in (DateKind.ACTIONABLE, DateKind.RESOLUTION)
        else p
        for p in promises
    ]
