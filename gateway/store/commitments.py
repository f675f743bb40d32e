"""The promise ledger: every date we tell a customer is a row here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.core.models import DateKind, TicketState
from gateway.store.db import Db, from_ts, marks, ts

# The ticket states whose dates we owe (waiting on the customer pauses them; resolved ends them).
OWED = (TicketState.NEW.value, TicketState.ANSWERED.value)


@dataclass(frozen=True)
class Commitment:
    id: int
    ticket_id: int
    kind: DateKind
    due_at: datetime
    told: str
    point: str = ""
    promised: bool = True  # told to the customer as a date (a policy resolution is a target)
    owner: str = ""  # who owes it: '' the ticket's owner, else an SC answering their request
    made_at: datetime | None = None


_INSERT = (
    "INSERT INTO commitments (ticket_id, kind, due_at, told, made_at, revision_of, made_by, point,"
    " promised, owner, missed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def make(
    db: Db,
    ticket_id: int,
    kind: DateKind,
    due_at: datetime,
    told: str,
    now: datetime,
    revision_of: int | None = None,
    made_by: str = "policy",
    point: str = "",
    promised: bool = True,
    owner: str = "",
) -> None:
    """Record a date made; ``revision_of``: the commitment it replaces, now superseded by it.

    The new row's id is not read back: on PostgreSQL a read waits for every statement sent
    before it, and these inserts (with the triggers that keep the ticket's dates) are the
    dearest of a message."""
    values = (ticket_id, kind, ts(due_at), told, ts(now), revision_of, made_by, point)
    db.execute(_INSERT, (*values, int(promised), owner.lower(), None))
    if revision_of is not None:
        db.execute(
            "UPDATE commitments SET superseded_by = (SELECT max(id) FROM commitments"
            " WHERE ticket_id = ? AND revision_of = ?) WHERE id = ?",
            (ticket_id, revision_of, revision_of),
        )


def make_missed(
    db: Db,
    ticket_id: int,
    kind: DateKind,
    due_at: datetime,
    told: str,
    now: datetime,
    promised: bool,
) -> int:
    """Record a policy's date that had already passed when it was made (mail read after its
    reply date): made and missed at once, for :func:`make` to revise; its id."""
    values = (ticket_id, kind, ts(due_at), told, ts(now), None, "policy", "")
    cur = db.execute(_INSERT + " RETURNING id", (*values, int(promised), "", ts(now)))
    return int(cur.fetchone()[0])


def mark_missed(db: Db, commitment_id: int, now: datetime) -> bool:
    """Mark a commitment missed if it is still open (not met, missed or superseded); return
    whether it was."""
    cur = db.execute(
        f"UPDATE commitments SET missed_at = ? WHERE id = ? AND {OPEN}",
        (ts(now), commitment_id),
    )
    return cur.rowcount == 1


def open_for(db: Db, ticket_id: int) -> list[Commitment]:
    """The ticket's commitments still standing (not met, missed or superseded), soonest first."""
    cur = db.execute(
        f"SELECT {_COLUMNS} FROM commitments WHERE ticket_id = ? AND {OPEN} ORDER BY due_at, id",
        (ticket_id,),
    )
    return [_row(r) for r in cur.fetchall()]


def missed_count(db: Db, ticket_id: int) -> int:
    cur = db.execute(
        # Every date missed or revised at one moment is one miss (a reply and its points, two
        # points, a reply and an engineer's date); a point missed on its own counts as well.
        "SELECT count(DISTINCT missed_at) FROM commitments WHERE ticket_id = ?"
        " AND missed_at IS NOT NULL",
        (ticket_id,),
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


def date_record(db: Db, ticket_id: int) -> tuple[int, int, bool]:
    """For the SC's summary: how many distinct dates the customer was given (a reply date and
    the points answered by it are one date), how many of them were missed, and whether the
    resolution target (never promised) was passed."""
    cur = db.execute(
        "SELECT count(DISTINCT told) FILTER (WHERE promised = 1),"
        " count(DISTINCT told) FILTER (WHERE promised = 1 AND missed_at IS NOT NULL),"
        " count(*) FILTER (WHERE promised = 0 AND missed_at IS NOT NULL)"
        " FROM commitments WHERE ticket_id = ?",
        (ticket_id,),
    )
    row = cur.fetchone()
    return (int(row[0]), int(row[1]), bool(row[2])) if row else (0, 0, False)


def due_unmet(db: Db, before: datetime, ticket_states: tuple[str, ...]) -> list[Commitment]:
    """Open commitments due before ``before`` on tickets in one of ``ticket_states``."""
    places = marks(ticket_states)
    cur = db.execute(
        # CROSS JOIN keeps this order: the few due rows (by the open-commitments index) first,
        # never every open ticket's commitments; a tick must not grow with stored tickets.
        f"SELECT {_COLUMNS} FROM commitments CROSS JOIN tickets t ON t.id = ticket_id"
        f" WHERE {OPEN} AND due_at <= ? AND t.state IN ({places}) ORDER BY due_at, commitments.id",
        (ts(before), *ticket_states),
    )
    return [_row(r) for r in cur.fetchall()]


def unwarned_before(
    db: Db,
    before: datetime,
    after: datetime,
    ticket_states: tuple[str, ...],
    ticket_id: int | None = None,
) -> list[Commitment]:
    """Open reply dates (and points) an SE owes, due after ``after`` and by ``before``, whose SE
    has not been warned yet, on tickets in one of ``ticket_states`` (of one ticket: read again
    inside its transaction)."""
    places = marks(ticket_states)
    one = "" if ticket_id is None else " AND ticket_id = ?"
    cur = db.execute(
        f"SELECT {_COLUMNS} FROM commitments CROSS JOIN tickets t ON t.id = ticket_id"
        f" WHERE {OPEN} AND {_REPLY_KINDS} AND warned_at IS NULL AND due_at <= ? AND due_at > ?"
        f" AND t.state IN ({places}){one} ORDER BY due_at, commitments.id",
        (ts(before), ts(after), *ticket_states, *(() if ticket_id is None else (ticket_id,))),
    )
    return [_row(r) for r in cur.fetchall()]


def mark_warned(db: Db, ids: list[int], now: datetime) -> None:
    db.execute(f"UPDATE commitments SET warned_at = ? WHERE id IN ({marks(ids)})", (ts(now), *ids))


def due_unmet_for(
    db: Db, ticket_id: int, before: datetime, ticket_states: tuple[str, ...]
) -> list[Commitment]:
    """The same as :func:`due_unmet` for one ticket, read inside that ticket's transaction: a
    date met a moment ago by an engineer's reply is no longer here."""
    places = marks(ticket_states)
    cur = db.execute(
        f"SELECT {_COLUMNS} FROM commitments JOIN tickets t ON t.id = ticket_id"
        f" WHERE ticket_id = ? AND {OPEN} AND due_at <= ? AND t.state IN ({places})"
        " ORDER BY due_at, commitments.id",
        (ticket_id, ts(before), *ticket_states),
    )
    return [_row(r) for r in cur.fetchall()]


# A reply is owed while a dated reply (or point) is open on a ticket whose ball is in our court.
_REPLY_KINDS = "kind IN ('actionable', 'point') AND promised = 1"  # (index commitments_met_reply)


def owed_of(db: Db, ticket_id: int) -> datetime | None:
    """The ticket's earliest standing reply date (kept on the ticket by triggers), if any."""
    row = db.execute("SELECT owed_at FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    return from_ts(row[0]) if row and row[0] else None


def owes_more_than(db: Db, se: str, count: int) -> bool:
    """Whether ``se`` owes more than ``count`` reply dates (an index walk, no rows read out)."""
    cur = db.execute(
        "SELECT 1 FROM tickets WHERE se = ? AND state IN ('new', 'answered')"
        " AND owed_at IS NOT NULL LIMIT 1 OFFSET ?",
        (se, count),
    )
    return cur.fetchone() is not None


def owed_by(db: Db, se: str, limit: int) -> list[datetime]:
    """The reply dates ``se`` owes, soonest first, at most ``limit``: the earliest open one of
    each of their open tickets (kept on the ticket by triggers: one index walk)."""
    cur = db.execute(
        "SELECT owed_at FROM tickets WHERE se = ? AND state IN ('new', 'answered')"
        " AND owed_at IS NOT NULL ORDER BY owed_at LIMIT ?",
        (se, limit),
    )
    return [from_ts(r[0]) for r in cur.fetchall()]


def replies_of(db: Db, se: str, since: datetime) -> list[tuple[datetime, datetime]]:
    """(made, met) of each reply date met since ``since`` on a ticket ``se`` holds now (a reply
    and the points it answered are one)."""
    cur = db.execute(
        "SELECT DISTINCT c.ticket_id, c.made_at, c.met_at FROM commitments c"
        # (from the replies met lately, index commitments_met_reply, to their tickets: from the
        # SE's tickets it read every ticket they ever had, a backlog's too)
        " CROSS JOIN tickets t"
        f" WHERE t.id = c.ticket_id AND c.met_at >= ? AND t.se = ? AND c.met_at IS NOT NULL"
        f" AND {_REPLY_KINDS}",
        (ts(since), se),
    )
    return [(from_ts(r[1]), from_ts(r[2])) for r in cur.fetchall()]


_COLUMNS = "commitments.id, ticket_id, kind, due_at, told, point, promised, owner, made_at"


def standing(alias: str = "") -> str:
    """The one condition "a commitment still stands" (not met, missed or superseded), for a
    table alias."""
    p = f"{alias}." if alias else ""
    return f"{p}met_at IS NULL AND {p}missed_at IS NULL AND {p}superseded_by IS NULL"


OPEN = standing()


def _row(r: Any) -> Commitment:
    return Commitment(
        r[0], r[1], DateKind(r[2]), from_ts(r[3]), r[4], r[5], bool(r[6]), r[7], from_ts(r[8])
    )


def meet_one(db: Db, commitment_id: int, now: datetime) -> None:
    db.execute(
        "UPDATE commitments SET met_at = ? WHERE id = ? AND met_at IS NULL",
        (ts(now), commitment_id),
    )


def points_of(db: Db, ticket_id: int) -> list[str]:
    """Every point of the ticket ever given a date (open, met, missed or superseded), in the
    order they were first dated: the numbers the SE's confirmations and #answered/#open use."""
    cur = db.execute(
        "SELECT point FROM commitments WHERE ticket_id = ? AND kind = 'point'"
        " GROUP BY point ORDER BY min(id)",
        (ticket_id,),
    )
    return [r[0] for r in cur.fetchall()]
