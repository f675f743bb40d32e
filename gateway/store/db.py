"""The database: one SQLite file, explicit transactions, one at a time.

SQLite runs in WAL mode with ``synchronous=FULL``: a commit is on disk before the gateway acts on
it (flags a message on the IMAP server, answers an SMTP ``DATA``), which is what "stored before
anything else happens" means. Every store function is a plain function over a :class:`Db` (a
connection inside a transaction); :meth:`Store.run` runs one such job as a whole transaction in a
worker thread, under a lock, so no task ever sees or joins another task's half-done transaction
and no statement runs on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sized
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,               -- imap | smtp
        mailbox TEXT NOT NULL DEFAULT '',
        uidvalidity INTEGER NOT NULL DEFAULT 0,
        uid INTEGER NOT NULL DEFAULT 0,
        raw BLOB NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        received_at TEXT NOT NULL,          -- INTERNALDATE, or the ingress time
        stored_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'new',  -- new | processed | quarantined
        action TEXT,                        -- acknowledge | follow-up | engineer-reply | ...
        reason TEXT,
        message_id TEXT,
        ticket_id INTEGER REFERENCES tickets(id),
        processed_at TEXT,
        disposed INTEGER NOT NULL DEFAULT 0 -- the IMAP move/flag is done
    );
    CREATE UNIQUE INDEX inbox_uid ON inbox(mailbox, uidvalidity, uid) WHERE source = 'imap';
    CREATE INDEX inbox_state ON inbox(state, id);
    CREATE INDEX inbox_message_id ON inbox(message_id);

    CREATE TABLE cursors (
        mailbox TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        PRIMARY KEY (mailbox, uidvalidity)
    );

    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        subject TEXT NOT NULL,
        question TEXT NOT NULL DEFAULT '', -- the start of the customer's first mail
        customer_address TEXT NOT NULL,
        customer_name TEXT NOT NULL,
        customer_utc_offset INTEGER,        -- minutes, from the customer's Date: header
        account TEXT NOT NULL DEFAULT '',
        product TEXT NOT NULL DEFAULT '',
        priority TEXT NOT NULL DEFAULT 'normal',
        token TEXT NOT NULL,                -- the secret part of the SE's relay address
        se TEXT NOT NULL,
        sc TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,                -- new | answered | waiting | resolved
        received_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        responded_at TEXT,
        resolved_at TEXT,
        last_contact_at TEXT,               -- last mail to the customer (from us or an SE)
        paused_at TEXT,                     -- waiting on the customer since (clocks paused)
        paused_from TEXT,                   -- the state to return to when the customer replies
        last_customer_message_id TEXT NOT NULL,
        references_ TEXT NOT NULL DEFAULT ''
    );

    CREATE TABLE message_ids (
        message_id TEXT PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        direction TEXT NOT NULL             -- in | out
    );

    CREATE TABLE commitments (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        kind TEXT NOT NULL,                 -- actionable | resolution | update | point
        point TEXT NOT NULL DEFAULT '',     -- for kind point: the customer's words
        due_at TEXT NOT NULL,
        told TEXT NOT NULL,                 -- the words we used
        made_at TEXT NOT NULL,
        made_by TEXT NOT NULL DEFAULT 'policy', -- policy | revision | pause | an engineer
        met_at TEXT,
        missed_at TEXT,
        revision_of INTEGER REFERENCES commitments(id),
        superseded_by INTEGER REFERENCES commitments(id)
    );
    CREATE INDEX commitments_open ON commitments(due_at)
        WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL;

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER REFERENCES tickets(id),
        kind TEXT NOT NULL,                 -- ack | se-copy | revised-eta | alert
        message_id TEXT NOT NULL,
        mail_from TEXT NOT NULL,
        rcpt TEXT NOT NULL,                 -- comma-separated envelope recipients
        raw BLOB NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued', -- queued | sent | dead
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

    CREATE TABLE undeliverable (
        address TEXT PRIMARY KEY,
        until TEXT NOT NULL,
        reason TEXT NOT NULL,
        ticket_id INTEGER REFERENCES tickets(id)
    );

    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        inbox_id INTEGER NOT NULL REFERENCES inbox(id),
        step TEXT NOT NULL,
        verdict TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX decisions_inbox ON decisions(inbox_id);
    """,
    # 2: nothing done per message may scan history (every query below used to read whole tables:
    # the per-address caps the outbox, the least-loaded rule the tickets, disposal the inbox).
    """
    -- One row per recipient of an automatic mail (ack, revised-eta, status-update): the caps.
    CREATE TABLE automatic_mail (
        address TEXT NOT NULL,
        queued_at TEXT NOT NULL
    );
    CREATE INDEX automatic_mail_address ON automatic_mail(address, queued_at);
    WITH RECURSIVE split(address, rest, at) AS (
        SELECT '', rcpt || ',', created_at FROM outbox
            WHERE kind IN ('ack', 'revised-eta', 'status-update')
        UNION ALL
        SELECT substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1), at
            FROM split WHERE rest != ''
    )
    INSERT INTO automatic_mail (address, queued_at)
        SELECT address, at FROM split WHERE address != '';

    -- Per SE: open tickets and the newest ticket, kept by triggers for the least-loaded rule.
    CREATE INDEX tickets_se ON tickets(se, created_at);
    CREATE INDEX tickets_state ON tickets(state);
    CREATE TABLE se_load (
        se TEXT PRIMARY KEY,
        open INTEGER NOT NULL,
        last_assigned TEXT
    );
    INSERT INTO se_load (se, open, last_assigned)
        SELECT se, sum(state != 'resolved'), max(created_at) FROM tickets GROUP BY se;
    CREATE TRIGGER se_load_insert AFTER INSERT ON tickets BEGIN
        INSERT INTO se_load (se, open, last_assigned)
            VALUES (NEW.se, NEW.state != 'resolved', NEW.created_at)
            ON CONFLICT (se) DO UPDATE SET open = open + (NEW.state != 'resolved'),
                last_assigned = max(coalesce(last_assigned, ''), NEW.created_at);
    END;
    CREATE TRIGGER se_load_update AFTER UPDATE OF se, state ON tickets
        WHEN OLD.se IS NOT NEW.se OR (OLD.state = 'resolved') IS NOT (NEW.state = 'resolved')
    BEGIN
        UPDATE se_load SET open = open - (OLD.state != 'resolved'),
            last_assigned = (SELECT max(created_at) FROM tickets WHERE se = OLD.se)
            WHERE se = OLD.se;
        INSERT INTO se_load (se, open, last_assigned)
            VALUES (NEW.se, NEW.state != 'resolved', NEW.created_at)
            ON CONFLICT (se) DO UPDATE SET open = open + (NEW.state != 'resolved'),
                last_assigned = max(coalesce(last_assigned, ''), NEW.created_at);
    END;
    CREATE TRIGGER se_load_delete AFTER DELETE ON tickets BEGIN
        UPDATE se_load SET open = open - (OLD.state != 'resolved'),
            last_assigned = (SELECT max(created_at) FROM tickets WHERE se = OLD.se)
            WHERE se = OLD.se;
    END;

    -- A ticket's commitments (an engineer's reply, #resolved, a pause) without reading them all.
    CREATE INDEX commitments_ticket ON commitments(ticket_id);

    -- IMAP mail handled but not yet moved: a handful of rows, not the whole inbox.
    CREATE INDEX inbox_undisposed ON inbox(mailbox, id)
        WHERE source = 'imap' AND disposed = 0 AND state != 'new';
    """,
    # 3: mail text in tables of its own. SQLite writes a whole record again on any UPDATE, so
    # marking a message processed or moved, or a mail sent, wrote its full text to the journal
    # once more (a 25 MB message twice); the rows that change now stay small.
    """
    CREATE TABLE inbox_raw (
        inbox_id INTEGER PRIMARY KEY REFERENCES inbox(id),
        raw BLOB NOT NULL
    );
    INSERT INTO inbox_raw (inbox_id, raw) SELECT id, raw FROM inbox;
    ALTER TABLE inbox DROP COLUMN raw;
    CREATE TABLE outbox_raw (
        outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id),
        raw BLOB NOT NULL
    );
    INSERT INTO outbox_raw (outbox_id, raw) SELECT id, raw FROM outbox;
    ALTER TABLE outbox DROP COLUMN raw;
    """,
    # 4: our own faults never quarantine a message on its first try (it is held and retried),
    # a failing ticket is shunted instead of stopping the scheduler, and status updates come
    # from an indexed due time instead of a scan of every open ticket.
    """
    ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE inbox ADD COLUMN retry_at TEXT;     -- held after an internal error until then
    ALTER TABLE inbox ADD COLUMN last_error TEXT;
    CREATE INDEX inbox_held ON inbox(id) WHERE state = 'new' AND attempts > 0;

    -- When the next status update is due: NULL when the customer was just written to (the
    -- scheduler computes it on the business calendar, which SQL does not know).
    ALTER TABLE tickets ADD COLUMN update_due_at TEXT;
    CREATE INDEX tickets_update_due ON tickets(update_due_at)
        WHERE state IN ('new', 'answered') AND update_due_at IS NOT NULL;
    CREATE INDEX tickets_update_unknown ON tickets(id)
        WHERE state IN ('new', 'answered') AND update_due_at IS NULL
        AND last_contact_at IS NOT NULL;

    CREATE TABLE shunts (                           -- tickets the scheduler failed on
        ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
        reason TEXT NOT NULL,                       -- the last error, with its traceback
        attempts INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        retry_at TEXT NOT NULL
    );
    """,
    # 5: mail an upstream filter called spam is kept in state 'spam'; an operator who releases
    # it overrules that verdict for this message. A customer's mail given up on (dead) is told
    # to the SE and SC once.
    """
    ALTER TABLE inbox ADD COLUMN spam_released INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN alerted INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET alerted = 1 WHERE state = 'dead';  -- no alerts about the past
    CREATE INDEX outbox_dead_unalerted ON outbox(id) WHERE state = 'dead' AND alerted = 0;
    """,
    # 6: a ticket keeps its people: the requester and the customer-side addresses of their
    # mails, all in CC of every customer-facing mail.
    """
    CREATE TABLE participants (
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        address TEXT NOT NULL,          -- as written: a local part keeps its case
        address_key TEXT NOT NULL,      -- lower-case, for matching
        name TEXT NOT NULL DEFAULT '',
        added_by TEXT NOT NULL,         -- mail, or the SE who wrote #cc add
        added_at TEXT NOT NULL,
        PRIMARY KEY (ticket_id, address_key)
    );
    INSERT INTO participants (ticket_id, address, address_key, name, added_by, added_at)
        SELECT id, customer_address, lower(customer_address), customer_name, 'mail', created_at
        FROM tickets;
    """,
    # 7: a ticket's story (every mail in and out, for a hand-over), and #merge: a merged ticket
    # is resolved and names the ticket that carries on.
    """
    ALTER TABLE tickets ADD COLUMN merged_into INTEGER REFERENCES tickets(id);
    CREATE INDEX inbox_ticket ON inbox(ticket_id, id) WHERE ticket_id IS NOT NULL;
    CREATE INDEX outbox_ticket ON outbox(ticket_id, id) WHERE ticket_id IS NOT NULL;
    """,
    # 8: a resolution date is promised to the customer only when an engineer set it; the
    # policy's resolution date is a target (internal: alerts, never a revised date to the
    # customer). Every resolution row from before came from the policy ("we aim to resolve").
    """
    ALTER TABLE commitments ADD COLUMN promised INTEGER NOT NULL DEFAULT 1;
    UPDATE commitments SET promised = 0 WHERE kind = 'resolution';
    """,
    # 9: before promising a reply date the gateway reads what the SE already owes (their open
    # tickets' dates) and their recent record, per message: neither may scan their history.
    """
    CREATE INDEX tickets_se_open ON tickets(se) WHERE state IN ('new', 'answered');
    CREATE INDEX commitments_met ON commitments(met_at) WHERE met_at IS NOT NULL;
    """,
    # 10: leave set by mail (#away), beside the config's people[].away.
    """
    CREATE TABLE leave (
        address TEXT NOT NULL,              -- lower-case
        first_day TEXT NOT NULL,            -- ISO dates, inclusive, the team's calendar
        last_day TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_at TEXT NOT NULL
    );
    CREATE INDEX leave_last_day ON leave(last_day);
    """,
    # 11: the language the customer's mail is written in, decided when the ticket opens.
    """
    ALTER TABLE tickets ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
    """,
    # 12: the web view. A ticket's newest activity (a mail in or out) is kept by triggers, so
    # the ticket list pages by it; passwords (argon2 hashes) and the cookie-signing key live
    # here, not in the config; every action taken in the browser is recorded with who took it.
    """
    ALTER TABLE tickets ADD COLUMN active_at TEXT NOT NULL DEFAULT '';
    UPDATE tickets SET active_at = max(
        received_at,
        coalesce((SELECT max(received_at) FROM inbox WHERE ticket_id = tickets.id), ''),
        coalesce((SELECT max(created_at) FROM outbox WHERE ticket_id = tickets.id), ''));
    CREATE INDEX tickets_active ON tickets(active_at);
    CREATE TRIGGER tickets_active_new AFTER INSERT ON tickets BEGIN
        UPDATE tickets SET active_at = NEW.received_at WHERE id = NEW.id AND active_at = '';
    END;
    CREATE TRIGGER tickets_active_in AFTER UPDATE OF ticket_id ON inbox
        WHEN NEW.ticket_id IS NOT NULL BEGIN
        UPDATE tickets SET active_at = NEW.received_at
            WHERE id = NEW.ticket_id AND active_at < NEW.received_at;
    END;
    CREATE TRIGGER tickets_active_out AFTER INSERT ON outbox
        WHEN NEW.ticket_id IS NOT NULL BEGIN
        UPDATE tickets SET active_at = NEW.created_at
            WHERE id = NEW.ticket_id AND active_at < NEW.created_at;
    END;
    CREATE INDEX tickets_account ON tickets(account, active_at);
    CREATE INDEX tickets_received ON tickets(received_at);
    CREATE INDEX tickets_merged ON tickets(merged_into) WHERE merged_into IS NOT NULL;
    CREATE INDEX tickets_sc ON tickets(sc, active_at);
    -- Search by any part of the subject or the customer's address (trigrams: substrings of
    -- three characters or more, case-insensitive), without reading every ticket.
    CREATE VIRTUAL TABLE tickets_search USING fts5(
        subject, customer_address, content='tickets', content_rowid='id', tokenize='trigram');
    INSERT INTO tickets_search (rowid, subject, customer_address)
        SELECT id, subject, customer_address FROM tickets;
    CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
        INSERT INTO tickets_search (rowid, subject, customer_address)
            VALUES (NEW.id, NEW.subject, NEW.customer_address);
    END;
    CREATE TRIGGER tickets_search_update AFTER UPDATE OF subject, customer_address ON tickets
    BEGIN
        INSERT INTO tickets_search (tickets_search, rowid, subject, customer_address)
            VALUES ('delete', OLD.id, OLD.subject, OLD.customer_address);
        INSERT INTO tickets_search (rowid, subject, customer_address)
            VALUES (NEW.id, NEW.subject, NEW.customer_address);
    END;
    CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
        INSERT INTO tickets_search (tickets_search, rowid, subject, customer_address)
            VALUES ('delete', OLD.id, OLD.subject, OLD.customer_address);
    END;
    CREATE TABLE web_users (
        address TEXT PRIMARY KEY,           -- lower-case, a configured person
        hash TEXT NOT NULL,                 -- argon2id
        set_at TEXT NOT NULL
    );
    CREATE TABLE web_keys (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE web_actions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL
    );
    """,
    # 13: the data's whole life: a ticket's mail and personal data forgotten after the
    # retention time (or on erasure) while its dates and figures stay; held mail deleted after
    # its own time.
    """
    ALTER TABLE tickets ADD COLUMN forgotten_at TEXT;
    CREATE INDEX tickets_to_forget ON tickets(resolved_at)
        WHERE state = 'resolved' AND forgotten_at IS NULL;
    CREATE INDEX inbox_held_stored ON inbox(stored_at) WHERE state IN ('quarantined', 'spam');
    -- A session carries its person's generation: signing out or a new password counts it up,
    -- which ends every session signed in before (copies of the cookie too).
    ALTER TABLE web_users ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    """,
    # 14: a ticket's earliest open date is one index probe (what an SE owes, per message), not
    # a walk of every open date in due order until one of that ticket's turns up.
    """
    CREATE INDEX commitments_open_ticket ON commitments(ticket_id, due_at)
        WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL;
    """,
    # 15: the conversation keys of mail not yet processed (gateway/mail/conversation.py): with
    # several gateways, a message waits while an earlier one that shares a key is not done;
    # who claimed an outbox row (several gateways send); what each ticket owes soonest.
    """
    CREATE TABLE inbox_keys (
        inbox_id INTEGER NOT NULL REFERENCES inbox(id),
        key INTEGER NOT NULL,
        PRIMARY KEY (inbox_id, key)
    );
    CREATE INDEX inbox_keys_key ON inbox_keys(key, inbox_id);
    -- PostgreSQL: the session whose sender claimed a row (a claim ends with its session).
    ALTER TABLE outbox ADD COLUMN claimed_by INTEGER;
    -- What each ticket owes soonest (its earliest standing reply date), kept by triggers: the
    -- dates an SE owes are one index walk (the capacity check, per message), not a probe per
    -- open ticket of theirs.
    ALTER TABLE tickets ADD COLUMN owed_at TEXT;
    CREATE VIEW ticket_owed AS SELECT ticket_id, min(due_at) AS due FROM commitments
        WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL
        AND kind IN ('actionable', 'point') AND promised = 1 GROUP BY ticket_id;
    UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = tickets.id);
    CREATE INDEX tickets_owed ON tickets(se, owed_at)
        WHERE state IN ('new', 'answered') AND owed_at IS NOT NULL;
    CREATE TRIGGER owed_insert AFTER INSERT ON commitments BEGIN
        UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = NEW.ticket_id)
            WHERE id = NEW.ticket_id;
    END;
    CREATE TRIGGER owed_update
        AFTER UPDATE OF ticket_id, kind, due_at, met_at, missed_at, superseded_by, promised
        ON commitments BEGIN
        UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = tickets.id)
            WHERE id IN (OLD.ticket_id, NEW.ticket_id);
    END;
    CREATE TRIGGER owed_delete AFTER DELETE ON commitments BEGIN
        UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = OLD.ticket_id)
            WHERE id = OLD.ticket_id;
    END;
    """,
    # 16: a ticket whose customer is unhappy with us keeps the sentence that shows it (at risk).
    """
    ALTER TABLE tickets ADD COLUMN at_risk TEXT NOT NULL DEFAULT '';
    """,
    # 17: wrong passwords, kept (a restart forgets no lockout), per address and per client.
    """
    CREATE TABLE web_failures (
        address TEXT NOT NULL,              -- as typed, lower-case
        client TEXT NOT NULL,               -- the peer, or what a trusted proxy saw
        at TEXT NOT NULL
    );
    CREATE INDEX web_failures_address ON web_failures(address, at);
    CREATE INDEX web_failures_client ON web_failures(client, address, at);
    CREATE INDEX web_failures_at ON web_failures(at);
    """,
    # 18: a deadline the customer stated (the end of that day's hours), with their sentence;
    """
    ALTER TABLE tickets ADD COLUMN deadline_at TEXT;
    ALTER TABLE tickets ADD COLUMN deadline_said TEXT NOT NULL DEFAULT '';
    -- and when the SE was warned that a date of theirs is about to pass unmet
    ALTER TABLE commitments ADD COLUMN warned_at TEXT;
    """,
    # 19: people an unauthenticated mail copied wait for an SE's #cc add before mail reaches them.
    """
    ALTER TABLE participants ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
    """,
)


def statements(script: str) -> Iterator[str]:
    """The statements of a migration script, one by one (triggers hold semicolons)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete statement in a migration: {buffer.strip()[:60]}")


def marks(values: Sized) -> str:
    """``?, ?, ?``: one placeholder per value, for ``IN (...)``."""
    return ", ".join("?" * len(values))


def ts(t: datetime) -> str:
    """An instant as stored: UTC ISO 8601 with microseconds, so text order is time order."""
    if t.tzinfo is None:
        raise ValueError("naive datetime")
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def from_ts(s: str) -> datetime:
    return datetime.fromisoformat(s)


class Cursor(Protocol):
    """What the store modules use of a cursor."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Dialect(StrEnum):
    """Which engine a :class:`Db` speaks to, for the few queries they spell differently."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class Db(Protocol):
    """A connection inside a transaction, as the store modules see it: plain calls, run in a
    worker thread (see :meth:`Store.run`), never on the event loop."""

    dialect: Dialect

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Cursor: ...


class SqliteDb:
    """:class:`Db` over a :mod:`sqlite3` connection."""

    dialect = Dialect.SQLITE

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Cursor:
        # Named parameters come as a mapping; positional ones as any iterable.
        args = parameters if isinstance(parameters, Mapping) else tuple(parameters or ())
        return self._con.execute(sql, args)

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Cursor:
        return self._con.executemany(sql, [tuple(p) for p in parameters])


def is_postgres(target: str | Path) -> bool:
    """Whether a database target is a PostgreSQL URL (else it is a SQLite file)."""
    return str(target).startswith(("postgresql://", "postgres://"))


def shown(target: str | Path) -> str:
    """A database target as logs and messages show it (a URL without its password)."""
    if is_postgres(target):
        from gateway.store import postgres

        return postgres.safe_url(str(target))
    return str(target)


def database_errors() -> tuple[type[Exception], ...]:
    """Any error either engine raises (the daemon's loops retry on these, not crash), for an
    ``except``. psycopg is imported only where PostgreSQL is used (it costs every command about
    0.1 s): without it loaded, no error of its can arise."""
    pg = sys.modules.get("psycopg")
    return (sqlite3.Error, pg.Error) if pg is not None else (sqlite3.Error,)


def _postgres(exc: BaseException) -> Any:
    """The PostgreSQL engine's module when ``exc`` is psycopg's (psycopg is imported only for a
    PostgreSQL database: no error of its can arise otherwise), else None."""
    pg = sys.modules.get("psycopg")
    if pg is None or not isinstance(exc, pg.Error):
        return None
    from gateway.store import postgres

    return postgres


def refused(exc: BaseException) -> bool:
    """The database refused what a message would store (a constraint, a value it cannot
    hold), the same way every time: that message is quarantined. Any other error from the
    database that cannot pass (a query of ours it does not understand) is our fault, and the
    message is kept and retried."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return True
    pg = _postgres(exc)
    return pg is not None and bool(pg.refused(exc))


def transient(exc: BaseException) -> bool:
    """A database error that can pass (locked, busy, disk full, the server gone): the work is
    kept and tried again, nothing is quarantined for it."""
    if isinstance(exc, sqlite3.OperationalError):
        return True
    pg = _postgres(exc)
    return pg is not None and bool(pg.transient(exc))


def conflict(exc: BaseException) -> bool:
    """Two transactions of several gateways got in each other's way (PostgreSQL found a
    deadlock, or could not serialise them): one was rolled back, and goes again at once."""
    pg = _postgres(exc)
    return pg is not None and bool(pg.conflict(exc))


def within(con: Any, begin: str, work: Callable[[], T], keep: bool = True) -> T:
    """One transaction on a connection of either engine: ``begin``, ``work()``, then COMMIT
    (ROLLBACK when it raises, or when the transaction is not to be kept)."""
    con.execute(begin)
    try:
        result = work()
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT" if keep else "ROLLBACK")
    return result


def bind(con: Any) -> Db:
    """The :class:`Db` over a connection of either engine."""
    if isinstance(con, sqlite3.Connection):
        return SqliteDb(con)
    from gateway.store import postgres

    return postgres.PgDb(con)


def private_file(path: str | Path) -> None:
    """Make sure ``path`` (a database file, a backup) is readable by its owner only, whatever
    the umask: its directory created 0700 if missing, the file created 0600 if missing. SQLite
    gives the -wal and -shm files the database file's mode."""
    target = Path(path)
    if not target.parent.exists():
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    os.close(fd)


def _connect(target: str, busy_timeout_ms: int, uri: bool = False) -> sqlite3.Connection:
    con = sqlite3.connect(target, uri=uri, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA synchronous=FULL")
    # Deleted content is overwritten, not left in free space (forgetting means gone).
    con.execute("PRAGMA secure_delete=ON")
    con.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    con.execute("PRAGMA foreign_keys=ON")
    return con


class Store:
    """The gateway's database (a SQLite file, or PostgreSQL when ``path`` is a
    ``postgresql://`` URL): one connection, used one transaction at a time, each transaction a
    plain function run whole in a worker thread (:meth:`run`)."""

    def __init__(self, path: str | Path, busy_timeout_ms: int = 10000) -> None:
        self.path = str(path)
        self.postgres = is_postgres(self.path)
        self.busy_timeout_ms = busy_timeout_ms
        self._con: Any = None
        self._lock = asyncio.Lock()
        # Tasks waiting to run a job: a long job (a batch of messages) ends early when others
        # wait, so a "sent" mark never queues behind a whole batch.
        self.waiting = 0

    async def __aenter__(self) -> Store:
        """``async with Store(path) as store``: started here, stopped on the way out."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, copy_of: str | None = None) -> None:
        """Open (creating and migrating as needed). With ``copy_of``, the store is an in-memory
        copy of that database file, opened read-only: the dry runs of ``explain`` use it."""
        if self.postgres:
            from gateway.store import postgres

            self._con = await asyncio.to_thread(postgres.connect, self.path)
            await asyncio.to_thread(postgres.migrate, self._con)
            return
        if self.path != ":memory:" and not self.path.startswith("file:"):
            await asyncio.to_thread(private_file, self.path)
        self._con = await asyncio.to_thread(self._open, copy_of)

    def _open(self, copy_of: str | None) -> sqlite3.Connection:
        con = _connect(self.path, self.busy_timeout_ms)
        try:
            if copy_of is not None:
                source = sqlite3.connect(f"file:{copy_of}?mode=ro", uri=True)
                try:
                    source.backup(con)
                finally:
                    source.close()
            con.execute("PRAGMA journal_mode=WAL")
            self._migrate(con)
        except BaseException:
            con.close()
            raise
        return con

    @property
    def started(self) -> bool:
        return self._con is not None

    async def stop(self) -> None:
        if self._con is not None:
            async with self._lock:
                if self._con is not None:
                    self._con.close()
            self._con = None

    async def run(self, job: Callable[[Db], T]) -> T:
        """Run ``job`` as one transaction (committed, or rolled back if it raises) in a worker
        thread, so neither its statements nor its work block the event loop."""
        return await self._in_thread(partial(self._transaction, job=job))

    async def try_out(self, job: Callable[[Db], T]) -> T:
        """Run ``job`` in a transaction that is always rolled back (dry runs)."""
        return await self._in_thread(partial(self._transaction, job=job, keep=False))

    def _transaction(self, con: Any, job: Callable[[Db], T], keep: bool = True) -> T:
        # SQLite: take the write lock at once, so a transaction never fails half-way to get it.
        begin = "BEGIN" if self.postgres else "BEGIN IMMEDIATE"
        return within(con, begin, lambda: job(bind(con)), keep)

    async def _in_thread(self, work: Callable[[Any], T]) -> T:
        """Run ``work(connection)`` in a worker thread, under the store's lock."""
        async with self._locked():
            if self._con is None:
                raise RuntimeError("the store is not started")
            running = asyncio.ensure_future(asyncio.to_thread(work, self._con))
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                # The lock stays held until the job has committed or rolled back: the next job
                # must not find this one's transaction open on the connection.
                await asyncio.wait([running])
                if not running.cancelled():
                    running.exception()  # its outcome is moot once we are cancelled
                raise

    async def rewrite(self) -> None:
        """Rewrite the database (VACUUM) and, for SQLite, empty the write-ahead log: after an
        erasure, nothing removed is left in free pages or in the log."""
        postgres = self.postgres

        def rewrite(con: Any) -> None:
            if postgres:
                con.execute("VACUUM FULL")
                return
            con.execute("VACUUM")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._in_thread(rewrite)

    async def backup_to(self, target: str | Path) -> None:
        """A consistent copy of the database, taken while it runs (SQLite's online backup)."""
        if self.postgres:
            raise RuntimeError("a PostgreSQL database is backed up with pg_dump (see README)")

        def backup(con: sqlite3.Connection) -> None:
            private_file(target)
            copy = sqlite3.connect(str(target))
            try:
                con.backup(copy)
            finally:
                copy.close()

        await self._in_thread(backup)

    @staticmethod
    def _migrate(con: sqlite3.Connection) -> None:
        def migrate() -> None:
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements(script):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version={number}")

        within(con, "BEGIN IMMEDIATE", migrate)

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        """The store's lock, counted in ``waiting`` while it is awaited."""
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._lock.release()


class Reader:
    """A read-only connection for views (the web view): each job runs as one read transaction in
    a worker thread, so a page's queries see one snapshot and never wait on, or block, the
    daemon's writes or its event loop."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._con: Any = None
        self._lock = asyncio.Lock()

    async def run(self, job: Callable[[Db], T]) -> T:
        """Run ``job`` on one snapshot."""
        async with self._lock:
            if self._con is None:
                self._con = await asyncio.to_thread(_open_read_only, self.path)
            return await asyncio.to_thread(_read, self._con, job)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _open_read_only(path: str | Path) -> Any:
    if is_postgres(path):
        from gateway.store import postgres

        return postgres.connect(str(path), read_only=True)
    con = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA query_only=ON")
    return con


def _read(con: Any, job: Callable[[Db], T]) -> T:
    # PostgreSQL: REPEATABLE READ, so every query of the job sees one snapshot (as SQLite's
    # read transaction does).
    sqlite = isinstance(con, sqlite3.Connection)
    begin = "BEGIN" if sqlite else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    return within(con, begin, lambda: job(bind(con)), keep=False)


async def write_once(path: str | Path, job: Callable[[Db], T]) -> T:
    """Run ``job`` as one transaction on the database, opened (and migrated) for it, then
    closed (for commands such as ``quarantine``)."""
    async with Store(path) as store:
        return await store.run(job)


def open_snapshot(path: str) -> sqlite3.Connection:
    """A read-only connection to a SQLite file inside one read transaction (one snapshot,
    while the daemon may write on): close it to end."""
    con = _open_read_only(path)
    con.execute("BEGIN")
    con.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
    return con  # type: ignore[no-any-return]


def read_once(path: str | Path, job: Callable[[Db], T]) -> T:
    """Run ``job`` on one read-only snapshot of the database, here and now (for commands such
    as ``report``). A SQLite file that is not there raises FileNotFoundError."""
    if not is_postgres(path) and not Path(path).exists():
        raise FileNotFoundError(f"no database at {path}")
    con = _open_read_only(path)
    try:
        return _read(con, job)
    finally:
        con.close()


def inspect_file(path: str | Path) -> tuple[str, int, set[str]]:
    """A database file's integrity check result, schema version and tables (read-only)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = str(con.execute("PRAGMA integrity_check").fetchone()[0])
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()
    return ok, version, tables


def _schema(con: sqlite3.Connection) -> dict[str, str]:
    """Every table, index, trigger and view of a database, by kind and name, with its SQL as
    written (comments and spacing aside)."""
    rows = con.execute(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {
        f"{kind} {name}": " ".join(re.sub(r"--[^\n]*", " ", str(sql)).split())
        for kind, name, sql in rows
    }


def schema_differences(path: str | Path, version: int) -> list[str]:
    """How the schema of the file at ``path`` differs from what this release's migrations make
    at ``version`` (tables, indexes, triggers and views): empty when it is exactly ours."""
    ours = sqlite3.connect(":memory:")
    theirs = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for script in MIGRATIONS[:version]:
            for statement in statements(script):
                ours.execute(statement)
        want, have = _schema(ours), _schema(theirs)
    finally:
        ours.close()
        theirs.close()
    return (
        [f"an extra {k}" for k in sorted(have.keys() - want.keys())]
        + [f"no {k}" for k in sorted(want.keys() - have.keys())]
        + [f"a changed {k}" for k in sorted(want.keys() & have.keys()) if want[k] != have[k]]
    )


def copy_file(source: str | Path, target: str | Path) -> None:
    """Copy a database file page by page into a new file (SQLite's backup API)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    private_file(target)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
