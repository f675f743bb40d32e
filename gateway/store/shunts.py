"""Tickets the scheduler failed on: kept with the reason, retried with backoff, shown to the
operator (``status``, ``/healthz``) and retried at once on request (``support-gateway shunt``).
A shunted ticket never stops the revisions of the others."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.store.db import Db, from_ts, ts

COUNT_SQL = "SELECT count(*) FROM shunts"
LIST_SQL = (
    "SELECT t.key, s.attempts, s.first_at, s.last_at, s.retry_at, s.reason"
    " FROM shunts s JOIN tickets t ON t.id = s.ticket_id ORDER BY s.first_at"
)


@dataclass(frozen=True)
class Shunt:
    ticket: str
    attempts: int
    first_at: datetime
    last_at: datetime
    retry_at: datetime
    reason: str


def record(db: Db, ticket_id: int, reason: str, now: datetime, retry_at: datetime) -> int:
    """One more failure on this ticket; return how many so far."""
    db.execute(
        "INSERT INTO shunts (ticket_id, reason, attempts, first_at, last_at, retry_at)"
        " VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (ticket_id) DO UPDATE SET"
        " reason = excluded.reason, attempts = shunts.attempts + 1, last_at = excluded.last_at,"
        " retry_at = excluded.retry_at",
        (ticket_id, reason, ts(now), ts(now), ts(retry_at)),
    )
    return attempts(db, ticket_id)


def attempts(db: Db, ticket_id: int) -> int:
    cur = db.execute("SELECT attempts FROM shunts WHERE ticket_id = ?", (ticket_id,))
    r = cur.fetchone()
    return int(r[0]) if r else 0


def count(db: Db) -> int:
    r = db.execute(COUNT_SQL).fetchone()
    return int(r[0]) if r else 0


def clear(db: Db, ticket_id: int) -> None:
    db.execute("DELETE FROM shunts WHERE ticket_id = ?", (ticket_id,))


def waiting(db: Db, now: datetime) -> set[int]:
    """Tickets to leave alone for now: shunted, and their retry time not yet come."""
    cur = db.execute("SELECT ticket_id FROM shunts WHERE retry_at > ?", (ts(now),))
    return {r[0] for r in cur.fetchall()}


def listing(db: Db) -> list[Shunt]:
    cur = db.execute(LIST_SQL)
    return [
        Shunt(r[0], r[1], from_ts(r[2]), from_ts(r[3]), from_ts(r[4]), r[5]) for r in cur.fetchall()
    ]


def retry_now(db: Db, key: str, now: datetime) -> bool:
    """An operator's request: try this ticket at the next pass."""
    cur = db.execute(
        "UPDATE shunts SET retry_at = ? WHERE ticket_id = (SELECT id FROM tickets WHERE key = ?)",
        (ts(now), key),
    )
    return cur.rowcount == 1
