"""When a mail that goes on a calendar, or once per person, last went (``last_sent``): an SC's
digest, an account's report, the hint to a writer to keep the SC in."""

from __future__ import annotations

from datetime import datetime

from gateway.core.models import Periodic
from gateway.store.db import Db, from_ts, ts


def last(db: Db, kind: Periodic, whom: str) -> datetime | None:
    row = db.execute(
        "SELECT sent_at FROM last_sent WHERE kind = ? AND whom = ?", (kind, whom.lower())
    ).fetchone()
    return from_ts(row[0]) if row else None


def claim(db: Db, kind: Periodic, whom: str, now: datetime, since: datetime) -> bool:
    """Record that (kind, whom) goes ``now`` unless it went at or after ``since``: whether it is
    this transaction's to send. Two gateways that both try (a take-over) cannot both win: the
    second waits on the row the first wrote and finds it sent."""
    cur = db.execute(
        "INSERT INTO last_sent (kind, whom, sent_at) VALUES (?, ?, ?)"
        " ON CONFLICT (kind, whom) DO UPDATE SET sent_at = excluded.sent_at"
        " WHERE last_sent.sent_at < ? RETURNING sent_at",
        (kind, whom.lower(), ts(now), ts(since)),
    )
    return cur.fetchone() is not None
