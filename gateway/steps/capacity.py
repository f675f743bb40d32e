"""The pipeline's capacity step (see gateway/pipeline/order.py for the whole story): before a new
ticket's reply date is promised, whether the routed SE can keep it; if not, an SE who can, else
an honest later date and an alert to the lead (the model: gateway/promise/load.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from gateway.core.models import DateKind
from gateway.pipeline.work import Services, Work
from gateway.promise import load as capacity
from gateway.store import Db, commitments


def step_capacity(s: Services, w: Work, db: Db) -> None:
    route = w.route
    assert route is not None
    if w.ticket is not None or not s.config.capacity.enabled or s.directory.is_sc(route.se):
        return  # a follow-up's reply stays with its SE, on the policy's date; an SC's ticket too
    due = next(p.due for p in w.policy if p.kind == DateKind.ACTIONABLE)
    cal, d, today = s.calendar, s.directory, s.calendar.local_date(w.now)
    first = _candidate(s, db, route.se, w.now)
    chosen, looked_at = capacity.choose(cal, w.now, due, [first])
    if not chosen.keeps:
        others = [se for se in d.ses() if se != route.se and d.available(se, today)]
        candidates = [first, *[_candidate(s, db, se, w.now) for se in others]]
        chosen, looked_at = capacity.choose(cal, w.now, due, candidates)
    if not chosen.keeps:
        chosen = replace(chosen, likely=capacity.honest(cal, chosen.likely))
    w.capacity = capacity.Check(due, chosen, looked_at)
    if chosen.se != route.se:
        who = f"{d.name_of(chosen.se)} {'can' if chosen.keeps else 'is likely sooner'}"
        why = f"{d.name_of(route.se)} cannot keep the reply date, {who}"
        w.route = replace(route, se=chosen.se, reason=f"{route.reason}; {why}")
    verdict = "kept" if chosen.keeps else "later date"
    w.decide("capacity", verdict, "; ".join(e.why for e in looked_at))


def likely_date(s: Services, db: Db, se: str, due: datetime, now: datetime) -> datetime:
    """The date for a reply ``se`` owes on a ticket they keep (a follow-up's new points, a
    revised date): the policy's ``due`` when they can likely keep it, else when they likely can,
    rounded up to the hour."""
    if not s.config.capacity.enabled or s.directory.is_sc(se):
        return due
    e = capacity.estimate(s.calendar, now, due, _candidate(s, db, se, now))
    return due if e.keeps else capacity.honest(s.calendar, e.likely)


def _candidate(s: Services, db: Db, se: str, now: datetime) -> capacity.Candidate:
    c, d = s.config.capacity, s.directory
    record = None
    if c.record_weeks:
        since = now - timedelta(weeks=c.record_weeks)
        took = [
            s.calendar.business_time_between(made, met)
            for made, met in commitments.replies_of(db, se, since)
        ]
        if len(took) >= c.record_min_replies:
            record = capacity.percentile(took, c.record_percentile)
    swamped = commitments.owes_more_than(db, se, capacity.OWED_MAX)
    return capacity.Candidate(
        se=se,
        name=d.name_of(se),
        owed=[] if swamped else commitments.owed_by(db, se, capacity.OWED_MAX),
        swamped=swamped,
        per_day=d.replies_per_day(se),
        record=record,
        away=d.is_away(se),
    )
