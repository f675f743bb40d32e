"""An account's board: its tickets and their dates as an SC follows them up (the SC's digest
and web home page) and as its customer reads them (the customer report)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.core.models import Ticket
from gateway.store.commitments import Commitment, _row, standing
from gateway.store.db import Db, from_ts, marks, ts
from gateway.store.tickets import _ticket

# A ticket on its own (not merged into another), as boards list them.
_LISTED = "t.merged_into IS NULL AND t.account IN ({accounts})"
_COLUMNS = "c.id, c.ticket_id, c.kind, c.due_at, c.told, c.point, c.promised, c.owner, c.made_at"


@dataclass(frozen=True)
class Dated:
    """A date on a ticket of the board, with when it was missed (None: it stands)."""

    ticket: Ticket
    date: Commitment
    missed_at: datetime | None = None


@dataclass(frozen=True)
class Board:
    new: list[Ticket]  # opened since
    open: list[Ticket]  # not resolved (waiting on the customer included)
    due: list[Dated]  # standing dates due by the end of the day
    at_risk: list[Dated]  # standing dates already revised once: a second miss escalates
    missed: list[Dated]  # dates missed since
    resolved: list[Ticket]  # resolved since
    unhappy: list[Ticket]  # open tickets whose customer sounds unhappy with us

    def __bool__(self) -> bool:
        return any((self.new, self.due, self.at_risk, self.missed, self.resolved, self.unhappy))


def _tickets(db: Db, accounts: Sequence[str], where: str, *args: object) -> list[Ticket]:
    cur = db.execute(
        f"SELECT t.* FROM tickets t WHERE {_LISTED.format(accounts=marks(accounts))} AND {where}"
        " ORDER BY t.received_at, t.id",
        (*accounts, *args),
    )
    return [_ticket(r) for r in cur.fetchall()]


def _dates(db: Db, accounts: Sequence[str], where: str, *args: object) -> list[Dated]:
    cur = db.execute(
        f"SELECT {_COLUMNS}, c.missed_at FROM commitments c JOIN tickets t ON t.id = c.ticket_id"
        f" WHERE {_LISTED.format(accounts=marks(accounts))} AND {where}"
        " ORDER BY c.due_at, c.id",
        (*accounts, *args),
    )
    rows = cur.fetchall()
    ids = sorted({r[1] for r in rows})
    found = (
        {t.id: t for t in _tickets(db, accounts, f"t.id IN ({marks(ids)})", *ids)} if ids else {}
    )
    return [Dated(found[r[1]], _row(r), from_ts(r[9]) if r[9] else None) for r in rows]


def of(db: Db, accounts: Sequence[str], since: datetime, day_ends: datetime) -> Board:
    """The board of ``accounts``: what happened since ``since``, and what is due by
    ``day_ends``."""
    if not accounts:
        return Board([], [], [], [], [], [], [])
    still = "t.state != 'resolved'"
    owed = f"{standing('c')} AND c.promised = 1 AND {still}"
    return Board(
        new=_tickets(db, accounts, "t.created_at >= ?", ts(since)),
        open=_tickets(db, accounts, still),
        due=_dates(db, accounts, f"{owed} AND c.due_at <= ?", ts(day_ends)),
        at_risk=_dates(
            db, accounts, f"{owed} AND c.made_by = 'revision' AND c.due_at > ?", ts(day_ends)
        ),
        missed=_dates(db, accounts, "c.missed_at >= ?", ts(since)),
        resolved=_tickets(db, accounts, "t.state = 'resolved' AND t.resolved_at >= ?", ts(since)),
        unhappy=_tickets(db, accounts, f"{still} AND t.at_risk != ''"),
    )


def next_dates(db: Db, ticket_ids: Sequence[int]) -> dict[int, Commitment]:
    """Each ticket's earliest standing date told the customer (a promise, not a target)."""
    if not ticket_ids:
        return {}
    cur = db.execute(
        f"SELECT {_COLUMNS} FROM commitments c WHERE {standing('c')} AND c.promised = 1"
        f" AND c.ticket_id IN ({marks(ticket_ids)}) ORDER BY c.due_at, c.id",
        tuple(ticket_ids),
    )
    first: dict[int, Commitment] = {}
    for r in cur.fetchall():
        first.setdefault(r[1], _row(r))
    return first
