"""What happened to every ticket and every date we gave: the simulator's figures (read once, at
the end of a run)."""

from __future__ import annotations

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


class TicketOutcome(NamedTuple):
    """A ticket's figures for ``report`` and the web view's promise record (times as stored:
    UTC ISO text, whose text order is time order). A tuple: a four months' record makes tens of
    thousands (a frozen dataclass took 20 ms more to build them)."""

    id: int
    se: str
    account: str
    product: str
    received_at: str
    acked: str | None  # the first acknowledgement accepted by the relay
    responded_at: str | None
    resolved_at: str | None
    first_reply_due: str | None
    first_resolution_due: str | None
    met: int  # dates promised to the customer, met in time (the resolution *target* is no promise)
    missed: int
    revised: int  # revised dates sent


def per_ticket(db: Db, since: datetime, until: datetime | None = None) -> list[TicketOutcome]:
    """The tickets received in [since, until)."""
    cur = db.execute(
        "SELECT t.id, t.se, t.account, t.product, t.received_at,"
        " (SELECT min(o.sent_at) FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'ack'),"
        " t.responded_at, t.resolved_at,"
        " (SELECT c.due_at FROM commitments c WHERE c.ticket_id = t.id AND c.kind = 'actionable'"
        "   AND c.revision_of IS NULL ORDER BY c.id LIMIT 1),"
        " (SELECT c.due_at FROM commitments c WHERE c.ticket_id = t.id AND c.kind = 'resolution'"
        "   AND c.revision_of IS NULL ORDER BY c.id LIMIT 1),"
        " (SELECT count(*) FROM commitments c WHERE c.ticket_id = t.id AND c.kind != 'point'"
        "   AND c.promised = 1 AND c.met_at IS NOT NULL AND c.met_at <= c.due_at),"
        " (SELECT count(*) FROM commitments c WHERE c.ticket_id = t.id AND c.kind != 'point'"
        "   AND c.promised = 1 AND c.missed_at IS NOT NULL),"
        " (SELECT count(*) FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'revised-eta')"
        " FROM tickets t WHERE t.received_at >= ? AND t.received_at < ?"
        " ORDER BY t.received_at, t.id",
        (ts(since), ts(until) if until is not None else "9999"),
    )
    return list(map(TicketOutcome._make, cur.fetchall()))
