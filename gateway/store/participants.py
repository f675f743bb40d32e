"""A ticket's people on the customer side: the requester and everyone their mails copied (never
our own addresses, staff or another account's people). All of them are in CC of every
customer-facing mail, up to ``safety.max_participants``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gateway.store.db import Db, ts


@dataclass
class People:
    """A ticket's people as read once (:func:`read`) and kept by :func:`add`: who mail goes to
    is known without reading again (on PostgreSQL a read waits for every statement sent
    before it). Nobody else changes them meanwhile: a mail to a ticket locks it (the thread
    step), and a new ticket is nobody else's yet."""

    ticket_id: int
    joined: list[tuple[str, bool]] = field(default_factory=list)  # (address, pending), in order

    def mailed(self) -> list[str]:
        """As :func:`of`: the addresses mail goes to, in the order they joined."""
        return [address for address, pending in self.joined if not pending]

    def has(self, address: str) -> bool:
        key = address.lower()
        return any(a.lower() == key for a, _ in self.joined)


def read(db: Db, ticket_id: int) -> People:
    cur = db.execute(
        "SELECT address, pending FROM participants WHERE ticket_id = ? ORDER BY added_at, rowid",
        (ticket_id,),
    )
    return People(ticket_id, [(r[0], bool(r[1])) for r in cur.fetchall()])


def of(db: Db, ticket_id: int) -> list[str]:
    """The addresses mail goes to, in the order they joined (the requester first): never one
    still waiting for an SE's confirmation (see :func:`pending_of`)."""
    cur = db.execute(
        "SELECT address FROM participants WHERE ticket_id = ? AND pending = 0"
        " ORDER BY added_at, rowid",
        (ticket_id,),
    )
    return [r[0] for r in cur.fetchall()]


def pending_of(db: Db, ticket_id: int) -> list[str]:
    """People an unauthenticated mail copied: on the ticket, but no mail goes to them until an
    SE confirms them with #cc add."""
    cur = db.execute(
        "SELECT address FROM participants WHERE ticket_id = ? AND pending = 1"
        " ORDER BY added_at, rowid",
        (ticket_id,),
    )
    return [r[0] for r in cur.fetchall()]


def confirm(db: Db, ticket_id: int, address: str) -> bool:
    """An SE confirms a pending person: mail goes to them from now on."""
    cur = db.execute(
        "UPDATE participants SET pending = 0 WHERE ticket_id = ? AND address_key = ?"
        " AND pending = 1",
        (ticket_id, address.lower()),
    )
    return cur.rowcount == 1


def includes(db: Db, ticket_id: int, address: str) -> bool:
    cur = db.execute(
        "SELECT 1 FROM participants WHERE ticket_id = ? AND address_key = ?",
        (ticket_id, address.lower()),
    )
    return cur.fetchone() is not None


def add(
    db: Db,
    people: People,
    wanted: list[tuple[str, str]],
    now: datetime,
    added_by: str,
    cap: int,
    pending: bool = False,
) -> list[str]:
    """Add (name, address) pairs not yet among ``people``, while fewer than ``cap`` are (pending
    ones count too); return the addresses added. Nothing is read: ``people`` says who is on the
    ticket (a new ticket's: ``People(id)``)."""
    added = []
    for name, address in wanted:
        if len(people.joined) >= cap:
            break
        if people.has(address):
            continue
        db.execute(
            "INSERT INTO participants"
            " (ticket_id, address, address_key, name, added_by, added_at, pending)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (people.ticket_id, address, address.lower(), name, added_by, ts(now), int(pending)),
        )
        people.joined.append((address, pending))
        added.append(address)
    return added


def remove(db: Db, ticket_id: int, address: str) -> bool:
    cur = db.execute(
        "DELETE FROM participants WHERE ticket_id = ? AND address_key = ?",
        (ticket_id, address.lower()),
    )
    return cur.rowcount == 1


def copy(db: Db, from_ticket: int, to_ticket: int, now: datetime) -> int:
    """Everyone on ``from_ticket`` joins ``to_ticket`` (#merge); return how many were new."""
    cur = db.execute(
        "INSERT INTO participants (ticket_id, address, address_key, name, added_by, added_at)"
        " SELECT ?, address, address_key, name, 'merge', ? FROM participants WHERE ticket_id = ?"
        " ON CONFLICT DO NOTHING",
        (to_ticket, ts(now), from_ticket),
    )
    return cur.rowcount
