"""The pipeline's dates step (see gateway/pipeline/order.py for the whole story): the policy's
dates for this mail, computed once, with the targets of the account's tier and of the priority
the ticket will have (urgent when the customer's words make it so: the tone step). An SC's ticket
(every point a request the SC owns) has the SC's reply target. No date falls at an hour its
owner is not working (their shift, ``people[].hours``): it moves to the close of their shift
before it. The capacity step weighs them, the plan step promises them."""

from __future__ import annotations

from dataclasses import replace

from gateway.core.models import DateKind
from gateway.pipeline.work import Services, Work, tier_of
from gateway.promise.sla import initial_promises
from gateway.steps.requests import sc_reply_due
from gateway.store import Db


def step_dates(s: Services, w: Work, db: Db) -> None:
    t, route = w.ticket, w.route
    assert route is not None
    urgent = bool(w.urgent) and s.config.sla.urgency == "apply"
    priority = "urgent" if urgent else (t.priority if t is not None else "")
    account = t.account if t is not None else route.account
    policy = initial_promises(s.policy, w.row.received_at, w.now, tier_of(s, account), priority)
    owner = t.se if t is not None else route.se
    if s.directory.is_sc(owner):
        reply = sc_reply_due(s, owner, w.row.received_at, w.now)
        policy = [
            replace(p, due=reply, missed=None) if p.kind is DateKind.ACTIONABLE else p
            for p in policy
        ]
    hours = s.directory.hours_of(owner)
    w.policy = [replace(p, due=hours.within(p.due, w.now)) for p in policy]
