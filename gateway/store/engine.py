"""What every store module and both engines share: the :class:`Db` a store function is given
(a connection inside a transaction), which engine it speaks to, timestamps as stored, and one
transaction on a connection of either engine. It imports neither engine's module, so the SQLite
store (db.py) and the PostgreSQL one (postgres.py) both build on it without importing each other
back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


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
    def settle(self) -> None:
        """Wait until every statement sent has run: one that failed raises here, not later
        (PostgreSQL sends a transaction's writes without waiting for each; SQLite has run
        each statement when it returns)."""


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
