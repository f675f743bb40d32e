"""The pipeline's route step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from dataclasses import replace

from gateway.core.models import Route
from gateway.pipeline.work import Services, Work
from gateway.promise.routing import Load, RouteRequest
from gateway.store import Db, leave, tickets


def step_route(s: Services, w: Work, db: Db) -> None:
    s.directory.set_mail_leave(leave.current(db, s.calendar.local_date(w.now)))
    if w.ticket is not None:
        t = w.ticket
        w.route = Route(t.account, t.se, t.sc, f"follow-up sticks to {t.se}", t.product)
    else:
        msg, cal = w.message, s.calendar
        req = RouteRequest(
            sender=msg.from_address,
            recipients=(*msg.to, *msg.cc, *msg.delivered_to),
            subject=msg.subject,
            text=msg.text or msg.html,
            today=cal.local_date(w.now),
            in_hours=cal.is_open(w.row.received_at),
            at=w.row.received_at,
        )
        if not s.directory.preferred(req)[2]:  # only the load rule is left: count open tickets
            stored = tickets.loads(db)
            req = replace(req, loads={se: Load(n, last) for se, (n, last) in stored.items()})
        w.route = s.directory.route(req)
    w.decide("route", w.route.se, w.route.reason)
