"""The promise ledger: every date we tell a customer is a row here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gateway.store.db import from_ts, ts


@dataclass(frozen=True)
class Commitment:
    id: int
    ticket_id: int
    kind: str
    due_at: datetime
    told: str


async def make(
    db: aiosqlite.Connection,
    ticket_id: int,
    kind: str,
    due_at: datetime,
    told: str,
    now: datetime,
    revision_of: int | None = None,
) -> int:
    cur = await db.execute(
        "INSERT INTO commitments (ticket_id, kind, due_at, told, made_at, revision_of)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (ticket_id, kind, ts(due_at), told, ts(now), revision_of),
    )
    assert cur.lastrowid is not None
    if revision_of is not None:
        await db.execute(
            "UPDATE commitments SET superseded_by = ? WHERE id = ?", (cur.lastrowid, revision_of)
        )
    return cur.lastrowid


async def mark_missed(db: aiosqlite.Connection, commitment_id: int, now: datetime) -> None:
    await db.execute(
        "UPDATE commitments SET missed_at = ? WHERE id = ? AND missed_at IS NULL",
        (ts(now), commitment_id),
    )


async def meet(db: aiosqlite.Connection, ticket_id: int, kind: str, now: datetime) -> int:
    """Mark the ticket's open commitments of ``kind`` met; return how many."""
    cur = await db.execute(
        "UPDATE commitments SET met_at = ? WHERE ticket_id = ? AND kind = ? AND met_at IS NULL"
        " AND superseded_by IS NULL",
        (ts(now), ticket_id, kind),
    )
    return cur.rowcount


async def due_unmet(
    db: aiosqlite.Connection, before: datetime, ticket_states: tuple[str, ...]
) -> list[Commitment]:
    """Open commitments due before ``before`` on tickets in one of ``ticket_states``."""
    marks = ",".join("?" for _ in ticket_states)
    cur = await db.execute(
        "SELECT c.id, c.ticket_id, c.kind, c.due_at, c.told FROM commitments c"
        " JOIN tickets t ON t.id = c.ticket_id"
        " WHERE c.met_at IS NULL AND c.missed_at IS NULL AND c.superseded_by IS NULL"
        f" AND c.due_at <= ? AND t.state IN ({marks}) ORDER BY c.due_at, c.id",
        (ts(before), *ticket_states),
    )
    return [Commitment(r[0], r[1], r[2], from_ts(r[3]), r[4]) for r in await cur.fetchall()]
