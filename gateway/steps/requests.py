"""The pipeline's requests step (see gateway/pipeline/order.py for the whole story): the
customer's points that ask for what the SC owns (``[[requests]]``: a quote, pricing, a licence,
an invoice, a contract). When every point of a new ticket is one, the ticket is the SC's (the
account's SC, or who covers for them on shift) with the SC's targets (``sla.sc``); when some are,
the SC answers those by their own date and the SE the rest."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from gateway.mail import points, requests
from gateway.pipeline.work import ScShare, Services, Work
from gateway.store import Db


def step_requests(s: Services, w: Work, db: Db) -> None:
    route, msg = w.route, w.message
    assert route is not None
    # The customer's points, read once here for this step and the plan step after it.
    asked = w.points = points.extract(msg.text, msg.html, s.config.sla.max_points)
    if not s.config.requests:
        return
    found = requests.owned(asked, s.config.requests)
    if not found:
        return
    kinds = ", ".join(dict.fromkeys(kind for _, kind in found))
    if w.ticket is not None and s.directory.is_sc(w.ticket.se):
        w.decide("requests", kinds, f"the ticket is already {w.ticket.se}'s, an SC's")
        return
    sc, why = s.directory.sc_owner(route.account, w.row.received_at)
    if not sc:
        w.decide("requests", kinds, why)
        return
    if w.ticket is None and len(found) == len(asked):
        w.route = replace(route, se=sc, reason=f"{route.reason}; every point is the SC's: {why}")
        w.decide("requests", sc, f"{kinds}: the SC's ticket ({why})")
        return
    due = sc_reply_due(s, sc, w.row.received_at, w.now)
    w.sc_share = ScShare(tuple(found), sc, due, why)
    w.decide("requests", sc, f"{kinds}: {len(found)} point(s) the SC answers ({why})")


def sc_reply_due(s: Services, sc: str, received_at: datetime, now: datetime) -> datetime:
    """When the SC's reply is due: ``sla.sc.reply_business_hours`` of their working hours after
    the mail came (counted from now, for mail that waited past it)."""
    hours, cal = timedelta(hours=s.config.sla.sc.reply_business_hours), s.directory.hours_of(sc)
    due = cal.add_business_time(received_at, hours)
    return due if due > now else cal.add_business_time(now, hours)
