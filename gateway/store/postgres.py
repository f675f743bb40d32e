"""PostgreSQL: the same store on the engine ops already run with replication and fail-over.

The store's queries are written once, in SQL both engines speak, with ``?`` placeholders; this
module runs them on psycopg 3 (server-side binding, ``$1``-style, so a ``%`` in a query needs no
escaping). The few places where the engines differ are said here, not spread over the store:

- ``?`` and ``:name`` placeholders become ``$n``;
- ``CROSS JOIN t ON ...`` and ``INDEXED BY i`` (SQLite's ways of fixing a plan) are a plain
  ``JOIN`` and nothing: PostgreSQL's planner chooses;
- a NUL in text (which PostgreSQL cannot store) becomes U+FFFD;
- ``participants`` has an explicit ``rowid`` (SQLite's implicit one: the order people joined);
- the schema is its own (identity keys, ``bytea``, PL/pgSQL triggers, ``pg_trgm`` search in place
  of FTS5), and every text column compares byte by byte (``COLLATE "C"``) as SQLite's does, so
  timestamps stored as ISO text sort and compare the same on both.

Timestamps stay ISO 8601 text in UTC (the store's ``ts``), as in SQLite: one format, one order.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from gateway.store.engine import Dialect, T, within
from gateway.store.schema import POSTGRESQL as MIGRATIONS


class Row(tuple[Any, ...]):
    """A row read by index or by column name, as :class:`sqlite3.Row` is."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    result = cursor.pgresult
    fields = tuple(result.fname(i) for i in range(result.nfields)) if result is not None else ()
    names = _names(fields)
    return lambda values: Row(values, names)


@lru_cache(maxsize=1024)
def _names(fields: tuple[bytes | None, ...]) -> dict[str, int]:
    """Column names -> positions, once per shape of result (psycopg's ``description`` builds
    an object a column for every result: a tenth of a millisecond a message)."""
    return {(f or b"").decode(): i for i, f in enumerate(fields)}


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|(?<!:):([A-Za-z_]\w*)")
_CROSS_JOIN = re.compile(r"\bCROSS JOIN\b(?=[^()]*\bON\b)")
_INDEXED_BY = re.compile(r"\s+INDEXED BY \w+")


@lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, tuple[str, ...]]:
    """SQLite's spelling -> PostgreSQL's: placeholders numbered (with the names of named ones,
    in order), SQLite's plan hints dropped. Quoted text is left alone."""
    names: list[str] = []
    numbered: dict[str, int] = {}

    def place(m: re.Match[str]) -> str:
        token = m.group(0)
        if token.startswith(("'", '"')):
            return token
        if token == "?":
            names.append("")
            return f"${len(names)}"
        name = m.group(1)
        if name not in numbered:
            names.append(name)
            numbered[name] = len(names)
        return f"${numbered[name]}"

    out = _PLACEHOLDER.sub(place, sql)
    return _INDEXED_BY.sub("", _CROSS_JOIN.sub("JOIN", out)), tuple(names)


def _arguments(names: tuple[str, ...], parameters: Iterable[Any] | None) -> list[Any]:
    values = [parameters[n] for n in names] if isinstance(parameters, Mapping) else parameters
    return [_text(v) for v in values or ()]


def _text(value: Any) -> Any:
    """PostgreSQL's text cannot hold NUL, which SQLite's can and mail from the internet may
    carry: it is stored as U+FFFD, so such a mail is handled the same on both engines (not
    refused by the database and quarantined)."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class Pipe:
    """A writing transaction's pipeline (see :class:`PgDb`). A statement that fails leaves the
    server skipping whatever was sent after it until the next sync: ``wait`` syncs at once when
    a wait raises, so what the caller sends next (``ROLLBACK TO``, ``ROLLBACK``) runs."""

    __slots__ = ("pipeline",)

    def __init__(self, pipeline: psycopg.Pipeline) -> None:
        self.pipeline = pipeline

    def wait(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except psycopg.Error:
            self.recover()
            raise

    def sync(self) -> None:
        """Wait for every statement sent: the first that failed raises here."""
        self.wait(self.pipeline.sync)

    def recover(self) -> None:
        # Its own error is the failure already raised, or the connection gone: the caller's
        # error says which.
        with contextlib.suppress(psycopg.Error):
            self.pipeline.sync()


class Pending:
    """A cursor of a statement sent in pipeline mode: reading its rows waits for them (psycopg
    flushes and reads), and so does reading its row count (a sync)."""

    __slots__ = ("_cur", "_pipe")

    def __init__(self, cur: psycopg.Cursor[Any], pipe: Pipe) -> None:
        self._cur = cur
        self._pipe = pipe

    @property
    def rowcount(self) -> int:
        if self._cur.pgresult is None:
            self._pipe.sync()
        return self._cur.rowcount

    def fetchone(self) -> Any:
        return self._pipe.wait(self._cur.fetchone)

    def fetchall(self) -> list[Any]:
        return self._pipe.wait(self._cur.fetchall)


class PgDb:
    """:class:`gateway.store.db.Db` over a psycopg connection.

    With a :class:`Pipe` (a writing transaction: :func:`transaction`), a statement is sent
    without waiting for the server's answer: only a statement whose rows or row count are read
    waits, so the writes of a message cost no round trip each. A statement that fails raises at
    the next wait, at the latest at :meth:`settle` (which the processor calls before it releases
    a message's savepoint, so the failure is that message's)."""

    dialect = Dialect.POSTGRESQL

    def __init__(self, con: psycopg.Connection[Any], pipe: Pipe | None = None) -> None:
        self._con = con
        self._pipe = pipe

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Any:
        query, names = translate(sql)
        cur = self._con.cursor()
        return self._sent(cur, partial(cur.execute, query, _arguments(names, parameters) or None))

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Any:
        query, names = translate(sql)
        cur = self._con.cursor()
        return self._sent(
            cur, partial(cur.executemany, query, [_arguments(names, p) for p in parameters])
        )

    def _sent(self, cur: psycopg.Cursor[Any], send: Callable[[], object]) -> Any:
        """``send()`` the statement; its cursor (in pipeline mode, one that waits when read)."""
        if self._pipe is None:
            send()
            return cur
        self._pipe.wait(send)
        return Pending(cur, self._pipe)

    def settle(self) -> None:
        """Wait for every statement sent: the first that failed raises here."""
        if self._pipe is not None:
            self._pipe.sync()


def transaction(con: psycopg.Connection[Any], job: Callable[[PgDb], T], keep: bool = True) -> T:
    """One writing transaction in pipeline mode (see :func:`within`): ``job``, then COMMIT once
    every statement has run. A failure the job never waited for raises before the commit."""
    with con.pipeline() as pipeline:
        pipe = Pipe(pipeline)
        db = PgDb(con, pipe)

        def work() -> T:
            try:
                result = job(db)
                db.settle()
            except BaseException:
                pipe.recover()  # a failure unseen so far must not swallow the ROLLBACK
                raise
            return result

        return within(con, "BEGIN", work, keep)


def connect(url: str, read_only: bool = False) -> psycopg.Connection[Any]:
    """A connection in autocommit mode: the store says BEGIN and COMMIT itself."""
    con: psycopg.Connection[Any] = psycopg.connect(
        url,
        autocommit=True,
        cursor_factory=psycopg.RawCursor,
        row_factory=_row_factory,
        application_name="support-gateway",
    )
    # PostgreSQL's own plan cache mode: a statement run often gets a generic plan, replanned
    # when ANALYZE sees the tables grow. Forcing a fresh plan for every statement (as we did
    # while the owed dates were read per open ticket) cost a third of each message: 42 -> 60
    # messages/s without it, and per-message time stays flat as a new database fills (5,000
    # tickets in process; see README "Benchmark").
    if read_only:
        con.execute("SET default_transaction_read_only = on")
    return con


def migrate(con: psycopg.Connection[Any]) -> None:
    """Create or bring the schema up to date, in one transaction (several gateways starting at
    once wait on the lock; the first one migrates)."""

    def migrate() -> None:
        con.execute("SELECT pg_advisory_xact_lock(hashtext('support-gateway migrate'))")
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            con.execute(script.encode())
            con.execute("INSERT INTO schema_version (version) VALUES ($1)", (number,))

    within(con, "BEGIN", migrate)


def transient(exc: BaseException) -> bool:
    """An error that can pass (the server gone, a conflict, a lock timeout, no space): the work
    is tried again, nothing is quarantined for it."""
    return isinstance(
        exc,
        psycopg.OperationalError
        | pg_errors.SerializationFailure
        | pg_errors.DeadlockDetected
        | pg_errors.LockNotAvailable
        | pg_errors.QueryCanceled
        | pg_errors.InsufficientResources
        | pg_errors.AdminShutdown,
    )


def conflict(exc: BaseException) -> bool:
    """A deadlock or a serialisation failure: rolled back, and worth trying again at once."""
    return isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected)


def refused(exc: BaseException) -> bool:
    """The database refused what a message would store, the same way every time."""
    return isinstance(exc, psycopg.IntegrityError | psycopg.DataError)


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
