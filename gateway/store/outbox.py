"""Mail waiting to be sent; the sender is the only reader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.core.models import Outbound
from gateway.store.db import Db, Dialect, from_ts, marks, ts


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int
    created_at: datetime


_OUTBOX = (
    "INSERT INTO outbox (ticket_id, kind, message_id, mail_from, rcpt, next_attempt_at,"
    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def enqueue(db: Db, out: Outbound, ticket_id: int | None, now: datetime) -> None:
    """Queue a mail: its row and its text. On PostgreSQL in one statement, whose new id is never
    read back here (a read waits for every statement sent before it)."""
    row = (
        ticket_id,
        out.kind,
        out.message_id,
        out.mail_from,
        ",".join(out.recipients),
        ts(now),
        ts(now),
    )
    if db.dialect is Dialect.POSTGRESQL:
        db.execute(
            f"WITH o AS ({_OUTBOX} RETURNING id)"
            " INSERT INTO outbox_raw (outbox_id, raw) SELECT id, ? FROM o",
            (*row, out.raw),
        )
        return
    cur = db.execute(_OUTBOX + " RETURNING id", row)
    db.execute(
        "INSERT INTO outbox_raw (outbox_id, raw) VALUES (?, ?)", (cur.fetchone()[0], out.raw)
    )


# PostgreSQL: rows a sender takes are claimed by its database session, so no other gateway
# sends them meanwhile. A claim ends with its session (a gateway killed: its rows are due to the
# others at once, sent with the same Message-ID) or after CLAIM (a session that lives on).
CLAIM = timedelta(minutes=2)
# The queued rows in id order (outbox_queued), up to a page: no row after the page is read.
_DUE = (
    "SELECT id, kind, message_id, mail_from, rcpt, raw, attempts, created_at FROM outbox{index}"
    " JOIN outbox_raw ON outbox_id = id WHERE state = 'queued' AND id > ? AND {when}"
    " ORDER BY id LIMIT ?"
)
_UNCLAIMED = (
    "(next_attempt_at <= ? OR (claimed_by IS NOT NULL AND NOT EXISTS"
    " (SELECT 1 FROM pg_stat_activity a WHERE a.pid = outbox.claimed_by)))"
)


def due(db: Db, now: datetime, limit: int = 50, after_id: int = 0) -> list[OutboxRow]:
    """Queued rows due by ``now``, oldest first, from after ``after_id`` (paging)."""
    postgres = db.dialect is Dialect.POSTGRESQL
    if postgres:
        sql = _DUE.format(index="", when=_UNCLAIMED) + " FOR UPDATE OF outbox SKIP LOCKED"
    else:
        sql = _DUE.format(index=" INDEXED BY outbox_queued", when="next_attempt_at <= ?")
    cur = db.execute(sql, (after_id, ts(now), limit))
    rows = [
        OutboxRow(r[0], r[1], r[2], r[3], tuple(r[4].split(",")), bytes(r[5]), r[6], from_ts(r[7]))
        for r in cur.fetchall()
    ]
    if postgres and rows:
        db.execute(
            "UPDATE outbox SET next_attempt_at = ?, claimed_by = pg_backend_pid()"
            f" WHERE id IN ({marks(rows)})",
            (ts(now + CLAIM), *(r.id for r in rows)),
        )
    return rows


def unclaim(db: Db, ids: list[int], now: datetime) -> None:
    """Rows a sender claimed (:func:`due`) and did not get to (it stopped, or lost the relay):
    due again now, not after the claim."""
    db.execute(
        "UPDATE outbox SET next_attempt_at = ?, claimed_by = NULL"
        f" WHERE state = 'queued' AND id IN ({marks(ids)})",
        (ts(now), *ids),
    )


def mark_sent(db: Db, row_id: int, now: datetime, note: str | None = None) -> None:
    db.execute(
        "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = ?"
        " WHERE id = ?",
        (ts(now), note, row_id),
    )


def mark_retry(db: Db, row_id: int, next_at: datetime, error: str) -> None:
    db.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,"
        " claimed_by = NULL"
        " WHERE id = ?",
        (ts(next_at), error, row_id),
    )


def mark_dead(db: Db, row_id: int, error: str) -> None:
    db.execute(
        "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?",
        (error, row_id),
    )


def revive(db: Db, row_id: int, now: datetime) -> bool:
    """A lead's "send again" for a dead letter (the relay's refusal was fixed): queued now, its
    tries counted afresh; the alert about it is not sent twice."""
    cur = db.execute(
        "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, alerted = 1"
        " WHERE id = ? AND state = 'dead'",
        (ts(now), row_id),
    )
    return cur.rowcount == 1


def requeue_for(
    db: Db,
    row: OutboxRow,
    recipients: tuple[str, ...],
    next_at: datetime,
    error: str,
    now: datetime,
) -> None:
    """Queue the same mail (same Message-ID) again for the recipients a relay deferred."""
    cur = db.execute(
        "INSERT INTO outbox (ticket_id, kind, message_id, mail_from, rcpt, next_attempt_at,"
        " created_at, last_error) SELECT ticket_id, kind, message_id, mail_from, ?, ?, ?, ?"
        " FROM outbox WHERE id = ? RETURNING id",
        (",".join(recipients), ts(next_at), ts(now), error, row.id),
    )
    outbox_id = int(cur.fetchone()[0])
    db.execute("INSERT INTO outbox_raw (outbox_id, raw) VALUES (?, ?)", (outbox_id, row.raw))


# Providers known to ignore dots in the local part (jane.doe@ and janedoe@ are one mailbox).
_DOTLESS = frozenset({"gmail.com", "googlemail.com"})


def mailbox(address: str) -> str:
    """The mailbox an address reaches, as the caps count it: lower case, without a plus-tag
    (``target+1@`` and ``target+2@`` are one), and without dots where the provider ignores
    them."""
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def record_automatic(db: Db, recipients: tuple[str, ...], now: datetime) -> None:
    """Count an automatic mail against each of its recipients' mailboxes (for the caps)."""
    db.executemany(
        "INSERT INTO automatic_mail (address, queued_at) VALUES (?, ?)",
        [(m, ts(now)) for m in dict.fromkeys(mailbox(r) for r in recipients)],
    )


# Staff mail one outside sender's mail caused is counted beside the caps, under this prefix.
CAUSED_BY = "caused-by:"


def record_cause(db: Db, sender: str, now: datetime) -> None:
    """Count one mail of ``sender``'s that made staff mail (an SE copy, a note, an alert)."""
    record_automatic(db, (CAUSED_BY + sender,), now)  # (mailbox() keeps the prefix)


def caused_by(db: Db, sender: str, since: datetime) -> int:
    """How many of ``sender``'s mails since ``since`` made staff mail."""
    return automatic_sent_to(db, CAUSED_BY + sender, since)


def forget_automatic(db: Db, before: datetime) -> None:
    """Forget who got automatic mail before ``before`` (the caps look back a day)."""
    db.execute("DELETE FROM automatic_mail WHERE queued_at < ?", (ts(before),))


def automatic_sent_to(db: Db, address: str, since: datetime) -> int:
    """How many automatic mails were queued to ``address``'s mailbox since ``since``."""
    return automatic_counts(db, address, since, since)[0]


def automatic_counts(db: Db, address: str, lately: datetime, since: datetime) -> tuple[int, int]:
    """How many automatic mails were queued to ``address``'s mailbox since ``lately`` and since
    the earlier ``since`` (the hour's and the day's caps, in one reading)."""
    row = db.execute(
        "SELECT count(*) FILTER (WHERE queued_at >= ?), count(*) FROM automatic_mail"
        " WHERE address = ? AND queued_at >= ?",
        (ts(lately), mailbox(address), ts(since)),
    ).fetchone()
    return int(row[0]), int(row[1])


def sent_to(db: Db, message_ids: tuple[str, ...]) -> list[tuple[int | None, tuple[str, ...]]]:
    """(ticket id, recipients) of each mail we sent with one of ``message_ids``: what a bounce
    naming them can prove (nothing, for a Message-ID that is not one of ours)."""
    if not message_ids:
        return []
    cur = db.execute(
        f"SELECT ticket_id, rcpt FROM outbox WHERE message_id IN ({marks(message_ids)})"
        " AND state = 'sent'",
        message_ids,
    )
    return [(r[0], tuple(a.lower() for a in str(r[1]).split(",") if a)) for r in cur.fetchall()]


def mark_undeliverable(
    db: Db, address: str, until: datetime, reason: str, ticket_id: int | None
) -> None:
    db.execute(
        "INSERT INTO undeliverable (address, until, reason, ticket_id) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (address) DO UPDATE SET until = excluded.until, reason = excluded.reason",
        (address.lower(), ts(until), reason, ticket_id),
    )


def undeliverable(db: Db, addresses: tuple[str, ...], now: datetime) -> dict[str, str]:
    """Which of ``addresses`` must get no mail now, with the reason."""
    if not addresses:
        return {}
    places = marks(addresses)
    cur = db.execute(
        f"SELECT address, reason FROM undeliverable WHERE address IN ({places}) AND until > ?",
        (*(a.lower() for a in addresses), ts(now)),
    )
    found = {r[0]: r[1] for r in cur.fetchall()}
    return {a: found[a.lower()] for a in addresses if a.lower() in found}


@dataclass(frozen=True)
class Block:
    """An address that gets no mail from us for a while: a bounce of our mail proved it
    undeliverable."""

    address: str
    until: datetime
    reason: str
    ticket: str | None  # the key of the ticket whose mail bounced


BLOCKED_SQL = "SELECT count(*) FROM undeliverable WHERE until > ?"


def blocks(db: Db, now: datetime, limit: int = 200) -> list[Block]:
    """The addresses blocked now, the latest first."""
    cur = db.execute(
        "SELECT u.address, u.until, u.reason, t.key FROM undeliverable u"
        " LEFT JOIN tickets t ON t.id = u.ticket_id WHERE u.until > ?"
        " ORDER BY u.until DESC, u.address LIMIT ?",
        (ts(now), limit),
    )
    return [Block(r[0], from_ts(r[1]), r[2], r[3]) for r in cur.fetchall()]


def lift_block(db: Db, address: str) -> bool:
    """Mail may go to ``address`` again (a lead knows the mailbox works)."""
    cur = db.execute("DELETE FROM undeliverable WHERE address = ?", (address.lower(),))
    return cur.rowcount > 0


def troubles(db: Db) -> list[tuple[int, str, str, str]]:
    """(id, kind, state, last error) of mail not sent yet or given up on."""
    cur = db.execute(
        "SELECT id, kind, state, coalesce(last_error, '') FROM outbox"
        " WHERE state != 'sent' AND (state = 'dead' OR last_error IS NOT NULL) ORDER BY id"
    )
    return [(r[0], r[1], r[2], r[3]) for r in cur.fetchall()]


@dataclass(frozen=True)
class DeadLetter:
    id: int
    ticket_id: int
    kind: str
    recipients: tuple[str, ...]
    error: str


def dead_unalerted(db: Db, kinds: frozenset[str]) -> list[DeadLetter]:
    """Dead mail of ``kinds`` on a ticket that nobody was told about yet. Dead mail of other
    kinds (to staff) is marked as needing no alert, so it leaves the index."""
    cur = db.execute(
        "SELECT id, ticket_id, kind, rcpt, coalesce(last_error, '') FROM outbox"
        " INDEXED BY outbox_dead_unalerted WHERE state = 'dead' AND alerted = 0 ORDER BY id"
    )
    dead = [
        DeadLetter(r[0], r[1], r[2], tuple(a for a in r[3].split(",") if a), r[4])
        for r in cur.fetchall()
    ]
    wanted = [d for d in dead if d.kind in kinds and d.ticket_id is not None]
    db.executemany(
        "UPDATE outbox SET alerted = 1 WHERE id = ?", [(d.id,) for d in dead if d not in wanted]
    )
    return wanted


def mark_alerted(db: Db, row_id: int) -> None:
    db.execute("UPDATE outbox SET alerted = 1 WHERE id = ?", (row_id,))
