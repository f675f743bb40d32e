"""What happened to every ticket and every date we gave: the simulator's figures (read once, at
the end of a run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from gateway.store.db import Db, from_ts, ts


@dataclass(frozen=True)
class Given:
    """A date told to a customer (a reply date and the points it answers are one date)."""

    ticket_id: int
    due: datetime
    met: datetime | None
    missed: datetime | None
    revision: bool  # a new date for a missed one


@dataclass(frozen=True)
class TicketTimes:
    id: int
    received: datetime
    acknowledged: datetime | None  # the first acknowledgement queued
    first_reply_due: datetime | None  # the first reply date given
    first_reply: datetime | None  # when an engineer first answered
    resolved: datetime | None
    se: str
    priority: str


def _at(value: str | None) -> datetime | None:
    return from_ts(value) if value else None


def dates_given(db: Db) -> list[Given]:
    cur = db.execute(
        "SELECT ticket_id, due_at, min(met_at), min(missed_at), max(made_by = 'revision')"
        " FROM commitments WHERE promised = 1 AND kind IN ('actionable', 'point', 'resolution')"
        " GROUP BY ticket_id, due_at, told"
    )
    return [Given(r[0], from_ts(r[1]), _at(r[2]), _at(r[3]), bool(r[4])) for r in cur.fetchall()]


def ticket_times(db: Db) -> list[TicketTimes]:
    cur = db.execute(
        "SELECT t.id, t.received_at,"
        " (SELECT min(created_at) FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'ack'),"
        " (SELECT due_at FROM commitments c WHERE c.ticket_id = t.id AND c.kind = 'actionable'"
        "   ORDER BY c.id LIMIT 1),"
        " t.responded_at, t.resolved_at, t.se, t.priority FROM tickets t ORDER BY t.id"
    )
    return [
        TicketTimes(r[0], from_ts(r[1]), _at(r[2]), _at(r[3]), _at(r[4]), _at(r[5]), r[6], r[7])
        for r in cur.fetchall()
    ]


# What the promise record counts a ticket for, as SQL over its kept figures (schema 22: the
# triggers keep each ticket's first dates, dates met and missed, revised dates sent and how long
# its acknowledgement took). Times are stored as UTC ISO text, whose text order is time order;
# a date not yet come and a step not done counts neither way. The placeholders, in order: the
# acknowledgement target in microseconds, now, now.
_COUNTS = {
    "tickets": "count(*)",
    "acknowledged_in_time": "count(*) FILTER (WHERE t.ack_delay_us <= ?)",
    "answered_in_time": "count(*) FILTER (WHERE t.responded_at <= t.first_reply_due)",
    "reply_came_due": "count(*) FILTER (WHERE t.responded_at IS NOT NULL"
    " OR t.first_reply_due <= ?)",
    "answered": "count(t.responded_at)",
    "resolved_in_time": "count(*) FILTER (WHERE t.resolved_at <= t.first_resolution_due)",
    "resolution_came_due": "count(*) FILTER (WHERE t.resolved_at IS NOT NULL"
    " OR t.first_resolution_due <= ?)",
    "resolved": "count(t.resolved_at)",
    # (the resolution *target* is no promise: dates_met and dates_missed count promised dates)
    "dates_met": "sum(t.dates_met)",
    "dates_missed": "sum(t.dates_missed)",
    "revised_etas": "sum(t.revised_etas)",
}
COUNTED: tuple[str, ...] = tuple(_COUNTS)


class Tally(NamedTuple):
    """The counts of one period's tickets that share an SE, product and account."""

    week: str  # the period's name (the web's promise record counts by the week)
    se: str
    product: str
    account: str
    counts: tuple[int, ...]  # in :data:`COUNTED`'s order


def tallies(
    db: Db,
    periods: Sequence[tuple[str, datetime, datetime | None]],
    ack_minutes: int,
    now: datetime,
) -> list[Tally]:
    """The tickets received in each named period [since, until) (until None: from since on),
    counted by SE, product and account: a few rows a period, summed by the database."""
    if not periods:
        return []
    values = ", ".join("(?, ?, ?)" for _ in periods)
    bounds = [
        x
        for name, since, until in periods
        for x in (name, ts(since), ts(until) if until is not None else "9999")
    ]
    cur = db.execute(
        f"WITH p (name, since, until) AS (VALUES {values})"
        f" SELECT p.name, t.se, t.product, t.account, {', '.join(_COUNTS.values())}"
        " FROM p JOIN tickets t ON t.received_at >= p.since AND t.received_at < p.until"
        " GROUP BY p.name, t.se, t.product, t.account",
        [*bounds, ack_minutes * 60_000_000, ts(now), ts(now)],
    )
    return [Tally(r[0], r[1], r[2], r[3], tuple(r[4:])) for r in cur.fetchall()]


def received_span(db: Db) -> tuple[datetime, datetime] | None:
    """When the first and the last stored ticket came (None: no tickets)."""
    row = db.execute(
        "SELECT (SELECT min(received_at) FROM tickets), (SELECT max(received_at) FROM tickets)"
    ).fetchone()
    return (from_ts(row[0]), from_ts(row[1])) if row[0] is not None else None
