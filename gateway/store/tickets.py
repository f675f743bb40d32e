"""Tickets and the Message-IDs that thread mail to them."""

from __future__ import annotations

import secrets
import sqlite3
from datetime import datetime
from typing import Any

from gateway.core.models import InboundMessage, Route, Ticket, TicketState
from gateway.store import participants
from gateway.store.db import Db, Dialect, from_ts, marks, ts

_TOKEN_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def new_token() -> str:
    """Ten lower-case letters and digits (about 50 bits): unguessable, and safe in an address."""
    # 32 letters: each random byte picks one without bias (256 is a multiple of 32), and one
    # read of the system's randomness serves the whole token.
    return "".join(_TOKEN_ALPHABET[b % 32] for b in secrets.token_bytes(10))


def _ticket(r: sqlite3.Row) -> Ticket:
    return Ticket(
        id=r["id"],
        key=r["key"],
        subject=r["subject"],
        customer_address=r["customer_address"],
        customer_name=r["customer_name"],
        customer_utc_offset=r["customer_utc_offset"],
        account=r["account"],
        product=r["product"],
        priority=r["priority"],
        token=r["token"],
        se=r["se"],
        sc=r["sc"],
        state=TicketState(r["state"]),
        received_at=from_ts(r["received_at"]),
        last_customer_message_id=r["last_customer_message_id"],
        references=tuple(r["references_"].split()),
        resolved_at=from_ts(r["resolved_at"]) if r["resolved_at"] else None,
        merged_into=r["merged_into"],
        language=r["language"],
        at_risk=r["at_risk"],
        deadline_at=from_ts(r["deadline_at"]) if r["deadline_at"] else None,
        deadline_said=r["deadline_said"],
    )


def mark_at_risk(db: Db, ticket_id: int, sentence: str) -> None:
    """The customer is unhappy with us: the ticket keeps the sentence that shows it."""
    db.execute("UPDATE tickets SET at_risk = ? WHERE id = ?", (sentence, ticket_id))


def set_deadline(db: Db, ticket_id: int, at: datetime, sentence: str) -> None:
    """The customer stated a deadline: the ticket keeps the earliest they stated."""
    db.execute(
        "UPDATE tickets SET deadline_at = ?, deadline_said = ?"
        " WHERE id = ? AND (deadline_at IS NULL OR deadline_at > ?)",
        (ts(at), sentence, ticket_id, ts(at)),
    )


def get(db: Db, ticket_id: int) -> Ticket:
    cur = db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
    r = cur.fetchone()
    if r is None:
        raise KeyError(f"no ticket {ticket_id}")
    return _ticket(r)


def lock(db: Db, ticket_id: int) -> Ticket | None:
    """Keep the ticket from other transactions until this one ends. On PostgreSQL another
    gateway's processor or the scheduler may be at the same ticket: this waits for them and
    returns the ticket as they left it. SQLite has one writer at a time: nothing to wait for,
    and what this transaction read is current (None)."""
    if db.dialect is not Dialect.POSTGRESQL:
        return None
    r = db.execute("SELECT * FROM tickets WHERE id = ? FOR UPDATE", (ticket_id,)).fetchone()
    if r is None:
        raise KeyError(f"no ticket {ticket_id}")
    return _ticket(r)


def by_message_ids(db: Db, ids: tuple[str, ...]) -> Ticket | None:
    for mid in ids:
        cur = db.execute("SELECT ticket_id FROM message_ids WHERE message_id = ?", (mid,))
        r = cur.fetchone()
        if r:
            return get(db, r[0])
    return None


def by_key(db: Db, key: str) -> Ticket | None:
    cur = db.execute("SELECT * FROM tickets WHERE key = ?", (key,))
    r = cur.fetchone()
    return _ticket(r) if r else None


def add_message_id(db: Db, message_id: str, ticket_id: int, direction: str) -> None:
    db.execute(
        "INSERT INTO message_ids (message_id, ticket_id, direction) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (message_id, ticket_id, direction),
    )


_NEW_COLUMNS = (
    "subject, customer_address, customer_name, customer_utc_offset, account, product, token,"
    " se, sc, state, received_at, created_at, last_customer_message_id, references_, question,"
    " language"
)


def create(
    db: Db,
    msg: InboundMessage,
    route: Route,
    received_at: datetime,
    now: datetime,
    prefix: str,
    first_number: int,
    language: str = "en",
) -> Ticket:
    # The key is derived from the row id, so it is unique without a second counter.
    values = (
        msg.subject,
        msg.from_address,
        msg.from_name,
        msg.utc_offset_minutes,
        route.account,
        route.product,
        new_token(),
        route.se,
        route.sc,
        TicketState.NEW.value,
        ts(received_at),
        ts(now),
        msg.message_id,
        " ".join(msg.references),
        (msg.text or msg.html).strip()[:600],
        language,
    )
    if db.dialect is Dialect.POSTGRESQL:
        # One statement, and one wait for the server: the id drawn first, the key made of it.
        cur = db.execute(
            "WITH n AS (SELECT nextval(pg_get_serial_sequence('tickets', 'id')) AS id)"
            f" INSERT INTO tickets (id, key, {_NEW_COLUMNS}) VALUES ((SELECT id FROM n),"
            " CAST(? AS TEXT) || '-' || ((SELECT id FROM n) + ? - 1),"
            f" {marks(values)}) RETURNING *",
            (prefix, first_number, *values),
        )
    else:
        # A random placeholder keeps the UNIQUE constraint satisfied until the id is known.
        cur = db.execute(
            f"INSERT INTO tickets (key, {_NEW_COLUMNS}) VALUES (?, {marks(values)}) RETURNING id",
            (f"tmp-{secrets.token_hex(8)}", *values),
        )
        made = int(cur.fetchone()[0])
        cur = db.execute(
            "UPDATE tickets SET key = ? WHERE id = ? RETURNING *",
            (f"{prefix}-{first_number + made - 1}", made),
        )
    ticket = _ticket(cur.fetchone())
    add_message_id(db, msg.message_id, ticket.id, "in")
    # The requester is the first of the ticket's people.
    new = participants.People(ticket.id)
    participants.add(db, new, [(msg.from_name, msg.from_address)], now, "mail", 1)
    return ticket


def customer_follow_up(db: Db, ticket: Ticket, msg: InboundMessage) -> Ticket:
    """Thread later mail to the customer's newest message."""
    refs = " ".join(dict.fromkeys([*ticket.references, ticket.last_customer_message_id]))
    db.execute(
        "UPDATE tickets SET last_customer_message_id = ?, references_ = ? WHERE id = ?",
        (msg.message_id, refs, ticket.id),
    )
    add_message_id(db, msg.message_id, ticket.id, "in")
    return get(db, ticket.id)


def record_response(db: Db, ticket: Ticket, now: datetime) -> None:
    db.execute(
        "UPDATE tickets SET state = ?, responded_at = coalesce(responded_at, ?),"
        " last_contact_at = ?, update_due_at = NULL WHERE id = ?",
        (TicketState.ANSWERED.value, ts(now), ts(now), ticket.id),
    )


def set_state(
    db: Db,
    ticket_id: int,
    state: TicketState,
    *,
    paused_at: datetime | None = None,
    paused_from: TicketState | None = None,
    resolved_at: datetime | None = None,
) -> None:
    db.execute(
        "UPDATE tickets SET state = ?, paused_at = ?, paused_from = ?,"
        " resolved_at = coalesce(?, resolved_at) WHERE id = ?",
        (
            state.value,
            ts(paused_at) if paused_at else None,
            paused_from.value if paused_from else None,
            ts(resolved_at) if resolved_at else None,
            ticket_id,
        ),
    )


def pause_info(db: Db, ticket_id: int) -> tuple[datetime, TicketState] | None:
    cur = db.execute("SELECT paused_at, paused_from FROM tickets WHERE id = ?", (ticket_id,))
    r = cur.fetchone()
    if r is None or r[0] is None:
        return None
    return from_ts(r[0]), TicketState(r[1] or TicketState.ANSWERED.value)


def contacted(db: Db, ticket_id: int, now: datetime) -> None:
    """The customer was just written to (by the gateway or by an engineer)."""
    db.execute(
        "UPDATE tickets SET last_contact_at = ?, update_due_at = NULL WHERE id = ?",
        (ts(now), ticket_id),
    )


_OWED = "state IN ('new', 'answered')"  # the ball is in our court (the indexes say the same)


def update_due_unknown(db: Db) -> list[tuple[int, datetime, str]]:
    """(ticket id, last written to, priority) of owed tickets whose next status update is not
    yet computed: only those written to since the last pass (an index of exactly them)."""
    cur = db.execute(UPDATE_UNKNOWN_SQL)
    return [(r[0], from_ts(r[1]), r[2]) for r in cur.fetchall()]


# A ticket owed no status update under the policy in force (updates only for urgent tickets,
# and it is not): known, so the pass does not read it again; as text it sorts after every
# instant, so it is never due. A reload or a change of priority computes it again.
NO_UPDATE = "never"


def set_update_due(db: Db, due: list[tuple[int, datetime | None]]) -> None:
    """Each ticket's next status update (None: none is owed under the policy in force)."""
    db.executemany(
        "UPDATE tickets SET update_due_at = ? WHERE id = ?",
        [(NO_UPDATE if at is None else ts(at), tid) for tid, at in due],
    )


# INDEXED BY: without statistics the planner would rather walk every owed ticket by state.
_DUE = f"{_OWED} AND update_due_at IS NOT NULL AND update_due_at <= ?"
UPDATES_DUE_SQL = f"SELECT id FROM tickets INDEXED BY tickets_update_due WHERE {_DUE}"
UPDATE_UNKNOWN_SQL = (
    "SELECT id, last_contact_at, priority FROM tickets INDEXED BY tickets_update_unknown"
    f" WHERE {_OWED} AND update_due_at IS NULL AND last_contact_at IS NOT NULL"
)


def updates_due(db: Db, now: datetime, ticket_id: int | None = None) -> list[int]:
    """Owed tickets whose status update is due by ``now``, or whether ``ticket_id``'s is."""
    if ticket_id is None:
        cur = db.execute(UPDATES_DUE_SQL + " ORDER BY update_due_at", (ts(now),))
    else:
        cur = db.execute(f"SELECT id FROM tickets WHERE id = ? AND {_DUE}", (ticket_id, ts(now)))
    return [r[0] for r in cur.fetchall()]


def set_language(db: Db, ticket_id: int, language: str) -> None:
    db.execute("UPDATE tickets SET language = ? WHERE id = ?", (language, ticket_id))


def set_priority(db: Db, ticket_id: int, level: str) -> None:
    """A new priority: the next status update is computed again (an urgent ticket's is sooner)."""
    db.execute(
        "UPDATE tickets SET priority = ?, update_due_at = NULL WHERE id = ?", (level, ticket_id)
    )


def forget_update_due(db: Db) -> None:
    """Recompute every due time (the policy may have changed)."""
    db.execute(f"UPDATE tickets SET update_due_at = NULL WHERE {_OWED}")


def open_of(db: Db, ses: list[str]) -> list[int]:
    """The tickets not yet resolved whose SE is one of ``ses``."""
    cur = db.execute(
        f"SELECT id FROM tickets WHERE se IN ({marks(ses)}) AND state != 'resolved' ORDER BY id",
        tuple(ses),
    )
    return [r[0] for r in cur.fetchall()]


def loads(db: Db) -> dict[str, tuple[int, datetime | None]]:
    """Per SE: open tickets, and when they were last given a ticket."""
    cur = db.execute("SELECT se, open, last_assigned FROM se_load")  # kept by triggers
    return {r[0]: (int(r[1] or 0), from_ts(r[2]) if r[2] else None) for r in cur.fetchall()}


def update(db: Db, ticket_id: int, **fields: str) -> None:
    """Set plain columns (se, priority) of a ticket."""
    allowed = {"se", "priority"}
    if not fields or set(fields) - allowed:
        raise ValueError(f"can only update {sorted(allowed)}")
    assignments = ", ".join(f"{k} = ?" for k in fields)
    db.execute(f"UPDATE tickets SET {assignments} WHERE id = ?", (*fields.values(), ticket_id))


def history(db: Db, ticket_id: int) -> dict[str, Any]:
    """What the SC's summary needs: the question and when it was first answered."""
    cur = db.execute("SELECT question, responded_at FROM tickets WHERE id = ?", (ticket_id,))
    r = cur.fetchone()
    if r is None:
        raise KeyError(f"no ticket {ticket_id}")
    return {"question": r[0], "responded_at": from_ts(r[1]) if r[1] else None}


def current(db: Db, ticket: Ticket) -> Ticket:
    """The ticket that carries ``ticket`` on: itself, or the one it was merged into."""
    seen = {ticket.id}
    while ticket.merged_into is not None and ticket.merged_into not in seen:
        seen.add(ticket.merged_into)
        ticket = get(db, ticket.merged_into)
    return ticket


def merge(db: Db, survivor: Ticket, merged: Ticket, now: datetime) -> int:
    """``merged`` joins ``survivor``: its thread's Message-IDs and its people move over, and it
    is resolved, naming the survivor (its mail stays recorded under it; the story of the
    survivor shows both). Its open commitments are moved by the ledger. Returns how many
    people joined."""
    db.execute("UPDATE message_ids SET ticket_id = ? WHERE ticket_id = ?", (survivor.id, merged.id))
    joined = participants.copy(db, merged.id, survivor.id, now)
    db.execute(
        "UPDATE tickets SET merged_into = ?, state = 'resolved', resolved_at = ?,"
        " paused_at = NULL, paused_from = NULL WHERE id = ?",
        (survivor.id, ts(now), merged.id),
    )
    return joined


def reopen(db: Db, ticket_id: int) -> None:
    """The customer came back on a resolved ticket: it is open again, owed a reply."""
    db.execute(
        "UPDATE tickets SET state = ?, resolved_at = NULL, update_due_at = NULL WHERE id = ?",
        (TicketState.NEW.value, ticket_id),
    )
