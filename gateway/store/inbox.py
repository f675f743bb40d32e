"""Raw inbound mail, stored before anything else happens to it, and the IMAP cursor."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.core.models import InboxState
from gateway.store.db import Db, Dialect, from_ts, ts


@dataclass(frozen=True)
class InboxRow:
    id: int
    source: str
    mailbox: str
    uidvalidity: int
    uid: int
    raw: bytes
    received_at: datetime
    spam_released: bool = False  # an operator overruled the spam verdict


def store_raw(
    db: Db,
    raw: bytes,
    received_at: datetime,
    now: datetime,
    *,
    source: str,
    mailbox: str = "",
    uidvalidity: int = 0,
    uid: int = 0,
    keys: Sequence[int],
) -> int | None:
    """Insert one raw message with its conversation keys (read from its headers before the
    transaction: gateway/mail/conversation.py); None when this IMAP UID is already stored."""
    row = db.execute(
        "INSERT INTO inbox (source, mailbox, uidvalidity, uid, sha256, size, received_at,"
        " stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (mailbox, uidvalidity, uid) WHERE source = 'imap' DO NOTHING RETURNING id",
        (
            source,
            mailbox,
            uidvalidity,
            uid,
            hashlib.sha256(raw).hexdigest(),
            len(raw),
            ts(received_at),
            ts(now),
        ),
    ).fetchone()
    if row is None:
        return None
    inbox_id = int(row[0])
    db.execute("INSERT INTO inbox_raw (inbox_id, raw) VALUES (?, ?)", (inbox_id, raw))
    _keep_keys(db, inbox_id, keys)
    return inbox_id


def _keep_keys(db: Db, inbox_id: int, keys: Iterable[int]) -> None:
    db.executemany(
        "INSERT INTO inbox_keys (inbox_id, key) VALUES (?, ?)", [(inbox_id, k) for k in keys]
    )


def _forget_keys(db: Db, inbox_id: int) -> None:
    """A message done with (or held for a retry) keeps nobody waiting."""
    db.execute("DELETE FROM inbox_keys WHERE inbox_id = ?", (inbox_id,))


_WITH_RAW = "SELECT inbox.*, inbox_raw.raw FROM inbox JOIN inbox_raw ON inbox_id = id"


def _row(r: sqlite3.Row) -> InboxRow:
    return InboxRow(
        r["id"],
        r["source"],
        r["mailbox"],
        r["uidvalidity"],
        r["uid"],
        bytes(r["raw"]),
        from_ts(r["received_at"]),
        bool(r["spam_released"]),
    )


# No earlier message of its conversation is still waiting (gateway/mail/conversation.py): a key is
# kept only while its message is new and not held, so any earlier row with one of its keys is.
IN_TURN = (
    "NOT EXISTS (SELECT 1 FROM inbox_keys mine JOIN inbox_keys earlier"
    " ON earlier.key = mine.key AND earlier.inbox_id < mine.inbox_id"
    " WHERE mine.inbox_id = inbox.id)"
)


def next_new(db: Db, now: datetime, after_id: int = 0) -> InboxRow | None:
    """The next message to process: new, not held for a retry beyond ``now``, and its turn
    in its conversation."""
    # PostgreSQL: a message another gateway is processing is locked, and skipped; a later one
    # of its conversation waits for it (IN_TURN). SQLite has one writer at a time.
    skip = " FOR UPDATE OF inbox SKIP LOCKED" if db.dialect is Dialect.POSTGRESQL else ""
    cur = db.execute(
        f"{_WITH_RAW} WHERE state = 'new' AND id > ? AND (retry_at IS NULL OR retry_at <= ?)"
        f" AND {IN_TURN} ORDER BY id LIMIT 1{skip}",
        (after_id, ts(now)),
    )
    r = cur.fetchone()
    return _row(r) if r else None


def failed_attempts(db: Db, inbox_id: int) -> int:
    """How many times processing this message has failed on an internal error."""
    cur = db.execute("SELECT attempts FROM inbox WHERE id = ?", (inbox_id,))
    r = cur.fetchone()
    return int(r[0]) if r else 0


def hold(db: Db, inbox_id: int, error: str, retry_at: datetime) -> None:
    """An internal error on this message: one more failed attempt; it stays new until
    ``retry_at``."""
    db.execute(
        "UPDATE inbox SET attempts = attempts + 1, last_error = ?, retry_at = ? WHERE id = ?",
        (error, ts(retry_at), inbox_id),
    )
    _forget_keys(db, inbox_id)  # the rest of its conversation goes on without it


HELD_SQL = "SELECT count(*) FROM inbox WHERE state = 'new' AND attempts > 0"


def held_count(db: Db) -> int:
    """Messages waiting for a retry after an internal error."""
    r = db.execute(HELD_SQL).fetchone()
    return int(r[0]) if r else 0


def mark_done(
    db: Db,
    inbox_id: int,
    *,
    state: InboxState,
    action: str,
    reason: str,
    message_id: str | None,
    ticket_id: int | None,
    now: datetime,
) -> None:
    db.execute(
        "UPDATE inbox SET state = ?, action = ?, reason = ?, message_id = ?, ticket_id = ?,"
        " processed_at = ? WHERE id = ?",
        (state, action, reason, message_id, ticket_id, ts(now), inbox_id),
    )
    _forget_keys(db, inbox_id)


def record_decisions(db: Db, inbox_id: int, decisions: list[tuple[str, str, str]]) -> None:
    db.executemany(
        "INSERT INTO decisions (inbox_id, step, verdict, reason) VALUES (?, ?, ?, ?)",
        [(inbox_id, step, verdict, reason) for step, verdict, reason in decisions],
    )


def already_processed(db: Db, message_id: str, inbox_id: int) -> bool:
    cur = db.execute(
        "SELECT 1 FROM inbox WHERE message_id = ? AND state = 'processed' AND id != ? LIMIT 1",
        (message_id, inbox_id),
    )
    return cur.fetchone() is not None


def undisposed(db: Db, mailbox: str) -> list[tuple[int, int, int, str]]:
    """(id, uidvalidity, uid, state) of IMAP mail handled here but not yet moved or flagged."""
    cur = db.execute(
        "SELECT id, uidvalidity, uid, state FROM inbox WHERE source = 'imap' AND mailbox = ?"
        " AND state != 'new' AND disposed = 0 ORDER BY id",
        (mailbox,),
    )
    return [(r[0], r[1], r[2], r[3]) for r in cur.fetchall()]


def mark_disposed(db: Db, ids: list[int]) -> None:
    db.executemany("UPDATE inbox SET disposed = 1 WHERE id = ?", [(i,) for i in ids])


def get_cursor(db: Db, mailbox: str, uidvalidity: int) -> int | None:
    cur = db.execute(
        "SELECT last_uid FROM cursors WHERE mailbox = ? AND uidvalidity = ?",
        (mailbox, uidvalidity),
    )
    r = cur.fetchone()
    return int(r[0]) if r else None


def has_any_cursor(db: Db, mailbox: str) -> bool:
    cur = db.execute("SELECT 1 FROM cursors WHERE mailbox = ? LIMIT 1", (mailbox,))
    return cur.fetchone() is not None


def set_cursor(db: Db, mailbox: str, uidvalidity: int, uid: int) -> None:
    db.execute(
        "INSERT INTO cursors (mailbox, uidvalidity, last_uid) VALUES (?, ?, ?)"
        " ON CONFLICT (mailbox, uidvalidity)"
        " DO UPDATE SET last_uid = excluded.last_uid WHERE excluded.last_uid > cursors.last_uid",
        (mailbox, uidvalidity, uid),
    )


def quarantined(db: Db) -> list[tuple[int, str, str, str, int, str]]:
    """(id, received_at, message_id, first line of the reason, size, state) of mail in
    quarantine or kept as spam."""
    cur = db.execute(
        "SELECT id, received_at, coalesce(message_id, ''), reason, size, state FROM inbox"
        " WHERE state IN ('quarantined', 'spam') ORDER BY id"
    )
    return [
        (r[0], r[1], r[2], (r[3] or "").splitlines()[0] if r[3] else "", r[4], r[5])
        for r in cur.fetchall()
    ]


@dataclass(frozen=True)
class StoredMail:
    """One stored inbound mail as an operator looks at it."""

    id: int
    state: InboxState
    size: int
    received_at: str  # as stored (ISO 8601, UTC)
    reason: str
    raw: bytes


def get_row(db: Db, inbox_id: int) -> StoredMail | None:
    r = db.execute(
        "SELECT id, state, size, received_at, reason, raw FROM inbox"
        " JOIN inbox_raw ON inbox_id = id WHERE id = ?",
        (inbox_id,),
    ).fetchone()
    if r is None:
        return None
    return StoredMail(r[0], InboxState(r[1]), r[2], r[3], r[4] or "", bytes(r[5]))


def requeue(
    db: Db, inbox_id: int, keys_of: Callable[[bytes], Iterable[int]], *, not_spam: bool = False
) -> bool:
    """Put a quarantined message back in line for processing; with ``not_spam``, a message kept
    as spam, its spam verdict overruled. ``keys_of`` reads its conversation keys again
    (gateway/mail/conversation.py: the store knows no mail)."""
    cur = db.execute(
        "UPDATE inbox SET state = 'new', action = NULL, reason = NULL, processed_at = NULL,"
        " attempts = 0, retry_at = NULL, last_error = NULL, spam_released = ?"
        " WHERE id = ? AND state = ?",
        (int(not_spam), inbox_id, InboxState.SPAM if not_spam else InboxState.QUARANTINED),
    )
    db.execute("DELETE FROM decisions WHERE inbox_id = ?", (inbox_id,))
    if cur.rowcount != 1:
        return False
    raw = db.execute("SELECT raw FROM inbox_raw WHERE inbox_id = ?", (inbox_id,)).fetchone()
    _keep_keys(db, inbox_id, keys_of(bytes(raw[0])) if raw else ())
    return True


def release(db: Db, inbox_id: int, now: datetime) -> bool:
    """An operator's verdict: the message needs nothing from the gateway."""
    cur = db.execute(
        "UPDATE inbox SET state = 'processed', action = 'released',"
        " reason = 'released by an operator after: ' || coalesce(reason, ''), processed_at = ?"
        " WHERE id = ? AND state = 'quarantined'",
        (ts(now), inbox_id),
    )
    return cur.rowcount == 1


def outcomes(db: Db, limit: int = 20) -> list[tuple[int, str, str, str]]:
    """(id, state, action, why) of the latest stored messages, for an operator's diagnosis: the
    reason of a decision, or the last internal error of a held message."""
    cur = db.execute(
        "SELECT id, state, coalesce(action, ''), coalesce(reason, last_error, '') FROM inbox"
        " ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [(r[0], r[1], r[2], r[3]) for r in cur.fetchall()][::-1]
