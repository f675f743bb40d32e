"""The store's engines and transactions: a SQLite file (or a PostgreSQL database, see
postgres.py), explicit transactions, one at a time.

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
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from gateway.store.engine import Cursor, Db, Dialect, T, from_ts, marks, ts, within
from gateway.store.schema import SQLITE as MIGRATIONS

__all__ = [
    "MIGRATIONS",
    "Cursor",
    "Db",
    "Dialect",
    "Reader",
    "Store",
    "from_ts",
    "marks",
    "ts",
    "within",
]


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

    def settle(self) -> None:
        """Each statement has run when it returns: nothing to wait for."""


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
        if self.postgres:
            from gateway.store import postgres

            # Pipeline mode: the writes go without a round trip each (see postgres.PgDb).
            return postgres.transaction(con, job, keep)
        # SQLite: take the write lock at once, so a transaction never fails half-way to get it.
        return within(con, "BEGIN IMMEDIATE", lambda: job(bind(con)), keep)

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
