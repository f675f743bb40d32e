"""Forgetting: a ticket's mail and personal data removed while its dates and figures stay
(anonymised), after the retention time or when a person asks to be erased (GDPR art. 17).

What stays of a forgotten ticket: its key, account, product, priority, SE, SC, state, every
time (received, answered, resolved) and every commitment's due, met and missed times, so the
promise record is unchanged. What goes: every mail in and out (bytes), the subject, the
customer's name, address and words (points, the question, the dates' wording), the people on
it, the Message-IDs, the reasons recorded on its mail.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime

from gateway.store import outbox
from gateway.store.db import Db, Dialect, marks, ts

REMOVED = "(removed)"


def resolved_before(db: Db, before: datetime, limit: int) -> list[int]:
    """Resolved tickets (resolved before ``before``) whose mail is not yet forgotten."""
    cur = db.execute(
        "SELECT id FROM tickets WHERE state = 'resolved' AND resolved_at < ?"
        " AND forgotten_at IS NULL ORDER BY resolved_at LIMIT ?",
        (ts(before), limit),
    )
    return [r[0] for r in cur.fetchall()]


def tickets_of(db: Db, address: str) -> list[int]:
    """Tickets ``address`` asked (is the customer of)."""
    cur = db.execute(
        "SELECT id FROM tickets WHERE lower(customer_address) = ? ORDER BY 1", (address.lower(),)
    )
    return [r[0] for r in cur.fetchall()]


def tickets_joined(db: Db, address: str) -> list[int]:
    """Tickets ``address`` only took part in (in CC; someone else's ticket)."""
    a = address.lower()
    cur = db.execute(
        "SELECT DISTINCT p.ticket_id FROM participants p JOIN tickets t ON t.id = p.ticket_id"
        " WHERE p.address_key = ? AND lower(t.customer_address) != ? ORDER BY 1",
        (a, a),
    )
    return [r[0] for r in cur.fetchall()]


def ticket_mail_in(db: Db, ids: list[int]) -> list[tuple[int, bytes]]:
    """The mail in of tickets ``ids`` (id, bytes), to find what one person wrote."""
    if not ids:
        return []
    cur = db.execute(
        "SELECT i.id, r.raw FROM inbox i JOIN inbox_raw r ON r.inbox_id = i.id"
        f" WHERE i.ticket_id IN ({marks(ids)}) AND length(r.raw) > 0 ORDER BY i.id",
        ids,
    )
    return [(r[0], bytes(r[1])) for r in cur.fetchall()]


def forget_participant(db: Db, ids: list[int], address: str) -> Counter[str]:
    """``address`` off tickets ``ids`` (someone else's): no more mail to them from these."""
    gone: Counter[str] = Counter()
    if ids:
        cur = db.execute(
            f"DELETE FROM participants WHERE address_key = ? AND ticket_id IN ({marks(ids)})",
            (address.lower(), *ids),
        )
        gone["people"] += max(cur.rowcount, 0)
    return gone


def forget_tickets(db: Db, ids: list[int], now: datetime) -> Counter[str]:
    """Forget the mail and personal data of tickets ``ids``; return what went, by kind."""
    gone: Counter[str] = Counter()
    if not ids:
        return gone
    places = marks(ids)

    def run(name: str, sql: str, args: tuple[object, ...] = ()) -> None:
        cur = db.execute(sql, (*args, *ids))
        gone[name] += max(cur.rowcount, 0)

    mail_in = f"SELECT id FROM inbox WHERE ticket_id IN ({places})"
    # Mail still waiting to be sent is left to go: it is not the past.
    mail_out = f"SELECT id FROM outbox WHERE ticket_id IN ({places}) AND state != 'queued'"
    run("mails in", f"UPDATE inbox_raw SET raw = ? WHERE inbox_id IN ({mail_in})", (b"",))
    run(
        "decisions",
        f"UPDATE decisions SET reason = '' WHERE reason != '' AND inbox_id IN ({mail_in})",
    )
    db.execute(
        f"UPDATE inbox SET reason = NULL, message_id = NULL WHERE ticket_id IN ({places})", ids
    )
    run("mails out", f"UPDATE outbox_raw SET raw = ? WHERE outbox_id IN ({mail_out})", (b"",))
    db.execute(f"UPDATE outbox SET rcpt = '', last_error = NULL WHERE id IN ({mail_out})", ids)
    run(
        "dates' wording",
        f"UPDATE commitments SET told = '', point = '' WHERE ticket_id IN ({places})",
    )
    run("people", f"DELETE FROM participants WHERE ticket_id IN ({places})")
    run("message-ids", f"DELETE FROM message_ids WHERE ticket_id IN ({places})")
    db.execute(f"DELETE FROM undeliverable WHERE ticket_id IN ({places})", ids)
    run(
        "tickets",
        "UPDATE tickets SET subject = ?, question = '', customer_address = '',"
        " customer_name = '', last_customer_message_id = '', references_ = '',"
        # A new secret nobody knows: the old relay address works no more (never '').
        " token = ? || id,"
        f" forgotten_at = ? WHERE id IN ({places})",
        (REMOVED, secrets.token_hex(16) + "x", ts(now)),
    )
    return gone


def compact_search(db: Db) -> None:
    """Merge the search index, so the entries of forgotten tickets are gone from it, not only
    marked deleted (SQLite's FTS5; PostgreSQL's trigram index is a plain index, kept by the
    VACUUM its autovacuum runs)."""
    if db.dialect is Dialect.SQLITE:
        db.execute("INSERT INTO tickets_search (tickets_search) VALUES ('optimize')")


def unticketed_mail(db: Db, after_id: int, limit: int) -> list[tuple[str, int, bytes]]:
    """Mail on no ticket (quarantine, spam, robots, refused relays; alerts), for a search by
    address: (in | out, id, bytes), by id, after ``after_id`` (ids of both tables interleave)."""
    cur = db.execute(
        "SELECT 'in', i.id, r.raw FROM inbox i JOIN inbox_raw r ON r.inbox_id = i.id"
        " WHERE i.ticket_id IS NULL AND i.id > ? AND length(r.raw) > 0"
        " UNION ALL"
        " SELECT 'out', o.id, r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id"
        " WHERE o.ticket_id IS NULL AND o.id > ? AND o.state != 'queued' AND length(r.raw) > 0"
        " ORDER BY 2 LIMIT ?",
        (after_id, after_id, limit),
    )
    return [(r[0], r[1], bytes(r[2])) for r in cur.fetchall()]


def forget_mail(db: Db, inbound: list[int], outbound: list[int]) -> Counter[str]:
    """Forget single mails on no ticket."""
    gone: Counter[str] = Counter()
    if inbound:
        cur = db.execute(
            f"UPDATE inbox_raw SET raw = ? WHERE inbox_id IN ({marks(inbound)})", (b"", *inbound)
        )
        gone["mails in"] += cur.rowcount
        db.execute(
            f"UPDATE inbox SET reason = NULL, message_id = NULL WHERE id IN ({marks(inbound)})",
            inbound,
        )
        db.execute(
            f"UPDATE decisions SET reason = '' WHERE inbox_id IN ({marks(inbound)})", inbound
        )
    if outbound:
        cur = db.execute(
            f"UPDATE outbox_raw SET raw = ? WHERE outbox_id IN ({marks(outbound)})",
            (b"", *outbound),
        )
        gone["mails out"] += cur.rowcount
        db.execute(
            f"UPDATE outbox SET rcpt = '', last_error = NULL WHERE id IN ({marks(outbound)})",
            outbound,
        )
    return gone


def forget_address(db: Db, address: str) -> Counter[str]:
    """The rows that name ``address`` itself: caps, bounces, leave, web sign-in and actions."""
    a = address.lower()
    gone: Counter[str] = Counter()
    for name, sql in (
        ("automatic-mail counts", "DELETE FROM automatic_mail WHERE lower(address) = ?"),
        ("bounce records", "DELETE FROM undeliverable WHERE lower(address) = ?"),
        ("leave", "DELETE FROM leave WHERE address = ?"),
        ("web password", "DELETE FROM web_users WHERE address = ?"),
    ):
        cur = db.execute(sql, (a,))
        gone[name] += max(cur.rowcount, 0)
    cur = db.execute(
        "DELETE FROM automatic_mail WHERE address = ?", (outbox.CAUSED_BY + outbox.mailbox(a),)
    )
    gone["staff-mail counts"] += max(cur.rowcount, 0)
    cur = db.execute("UPDATE web_actions SET who = ? WHERE who = ?", (REMOVED, a))
    gone["web actions"] += max(cur.rowcount, 0)
    return gone


def old_held(db: Db, before: datetime, limit: int) -> list[int]:
    """Quarantined and spam mail stored before ``before``."""
    cur = db.execute(
        "SELECT id FROM inbox WHERE state IN ('quarantined', 'spam') AND stored_at < ?"
        " ORDER BY id LIMIT ?",
        (ts(before), limit),
    )
    return [r[0] for r in cur.fetchall()]


def delete_held(db: Db, ids: list[int]) -> int:
    """Delete held mail outright (nothing of it is in the promise record)."""
    if not ids:
        return 0
    places = marks(ids)
    db.execute(f"DELETE FROM decisions WHERE inbox_id IN ({places})", ids)
    db.execute(f"DELETE FROM inbox_raw WHERE inbox_id IN ({places})", ids)
    db.execute(f"DELETE FROM inbox_keys WHERE inbox_id IN ({places})", ids)
    cur = db.execute(
        f"DELETE FROM inbox WHERE id IN ({places}) AND state IN ('quarantined', 'spam')", ids
    )
    return max(cur.rowcount, 0)
