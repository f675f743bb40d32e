"""The pipeline's dates step (see gateway/pipeline/order.py for the whole story): the policy's
dates for this mail, computed once, with the targets of the account's tier and of the priority
the ticket will have (urgent when the customer's words make it so: the tone step). The capacity
step weighs them, the plan step promises them."""

from __future__ import annotations

from gateway.pipeline.work import Services, Work, tier_of
from gateway.promise.sla import initial_promises
from gateway.store import Db


def step_dates(s: Services, w: Work, db: Db) -> None:
    t, route = w.ticket, w.route
    assert route is not None
    urgent = bool(w.urgent) and s.config.sla.urgency == "apply"
    priority = "urgent" if urgent else (t.priority if t is not None else "")
    account = t.account if t is not None else route.account
    w.policy = initial_promises(s.policy, w.row.received_at, w.now, tier_of(s, account), priority)
