"""What needs attention now, as counts: for ``status`` and the Prometheus gauges (one query
each, on a read-only snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.core.models import TicketState
from gateway.store import inbox, outbox, shunts
from gateway.store.commitments import OPEN
from gateway.store.db import Db, from_ts, marks, ts

# The tickets whose dates are owed by us (not waiting on the customer, not resolved).
_OWED = (TicketState.NEW.value, TicketState.ANSWERED.value)


def _one(db: Db, sql: str, *args: object) -> Any:
    row = db.execute(sql, args).fetchone()
    return row[0] if row is not None else None


@dataclass(frozen=True)
class Outgoing:
    queued: int
    oldest_queued: datetime | None
    dead: int
    sent: int


def outgoing(db: Db) -> Outgoing:
    oldest = _one(db, "SELECT min(created_at) FROM outbox WHERE state = 'queued'")
    return Outgoing(
        _one(db, "SELECT count(*) FROM outbox WHERE state = 'queued'"),
        from_ts(oldest) if oldest else None,
        _one(db, "SELECT count(*) FROM outbox WHERE state = 'dead'"),
        _one(db, "SELECT count(*) FROM outbox WHERE state = 'sent'"),
    )


def dates(db: Db) -> dict[str, int]:
    """Commitments by state: open (still standing), met, missed."""
    return {
        "open": _one(db, f"SELECT count(*) FROM commitments WHERE {OPEN}"),
        "met": _one(db, "SELECT count(*) FROM commitments WHERE met_at IS NOT NULL"),
        "missed": _one(db, "SELECT count(*) FROM commitments WHERE missed_at IS NOT NULL"),
    }


def dates_owed(db: Db, now: datetime) -> tuple[int, int]:
    """Standing dates of tickets we owe: overdue, and due within 24 hours."""
    owed = f"ticket_id IN (SELECT id FROM tickets WHERE state IN ({marks(_OWED)}))"
    overdue = _one(
        db,
        f"SELECT count(*) FROM commitments WHERE {OPEN} AND due_at < ? AND {owed}",
        ts(now),
        *_OWED,
    )
    soon = _one(
        db,
        f"SELECT count(*) FROM commitments WHERE {OPEN} AND due_at >= ? AND due_at < ? AND {owed}",
        ts(now),
        ts(now + timedelta(hours=24)),
        *_OWED,
    )
    return overdue, soon


def tickets_by_state(db: Db) -> dict[str, int]:
    cur = db.execute("SELECT state, count(*) FROM tickets GROUP BY state")
    return {r[0]: r[1] for r in cur.fetchall()}


def inbound(db: Db) -> dict[str, int]:
    return {
        "waiting": _one(db, "SELECT count(*) FROM inbox WHERE state = 'new'"),
        "held": _one(db, inbox.HELD_SQL),
        "quarantined": _one(db, "SELECT count(*) FROM inbox WHERE state = 'quarantined'"),
        "spam": _one(db, "SELECT count(*) FROM inbox WHERE state = 'spam'"),
    }


def revised_sent(db: Db) -> int:
    return int(_one(db, "SELECT count(*) FROM outbox WHERE kind = 'revised-eta'"))


def shunted(db: Db) -> int:
    return int(_one(db, shunts.COUNT_SQL))


def blocked(db: Db, now: datetime) -> int:
    """Addresses a proven bounce blocks now."""
    return int(_one(db, outbox.BLOCKED_SQL, ts(now)))


def totals(db: Db) -> tuple[int, int, int]:
    """Tickets, dates and mails in: what a copy of the database holds."""
    return (
        int(_one(db, "SELECT count(*) FROM tickets")),
        int(_one(db, "SELECT count(*) FROM commitments")),
        int(_one(db, "SELECT count(*) FROM inbox")),
    )
