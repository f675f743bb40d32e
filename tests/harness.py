"""A step-by-step harness: the gateway's components run one pass at a time (no background
loops) against a real SQLite file and a real SMTP socket (the sink), on a fake clock."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.daemon.processor import Processor
from gateway.daemon.scheduler import Scheduler
from gateway.daemon.sender import Sender
from gateway.mail import conversation
from gateway.store import Db, Store, inbox, postgres
from gateway.store.db import bind


def storing(raws: list[bytes], now: datetime, source: str = "test") -> Callable[[Db], None]:
    """A job that stores ``raws`` as received at ``now`` (for :meth:`Store.run`)."""

    def job(db: Db) -> None:
        for raw in raws:
            inbox.store_raw(db, raw, now, now, source=source, keys=conversation.keys(raw))

    return job


def owed_astray(db: Db) -> list[tuple[Any, ...]]:
    """Tickets whose kept earliest owed date (``tickets.owed_at``, kept by triggers) is not
    what their standing reply dates say: none, whatever happened to them."""
    rows = db.execute(
        "SELECT t.key, t.owed_at, o.due FROM tickets t LEFT JOIN ticket_owed o"
        " ON o.ticket_id = t.id WHERE t.owed_at IS DISTINCT FROM o.due"
    ).fetchall()
    return [tuple(r) for r in rows]


def figures_astray(db: Db) -> list[tuple[Any, ...]]:
    """Tickets whose kept promise-record figures (first dates, dates met and missed, the
    acknowledgement's delay, revised dates sent; kept by triggers) are not what their dates and
    mail say: none, whatever happened to them."""
    rows = db.execute(
        "SELECT t.key FROM tickets t JOIN ticket_dates d ON d.ticket_id = t.id"
        " JOIN ticket_mail m ON m.ticket_id = t.id"
        " WHERE t.first_reply_due IS DISTINCT FROM d.reply_due"
        " OR t.first_resolution_due IS DISTINCT FROM d.resolution_due"
        " OR t.dates_met != d.met OR t.dates_missed != d.missed"
        " OR t.ack_delay_us IS DISTINCT FROM m.ack_delay_us OR t.revised_etas != m.revised"
    ).fetchall()
    return [tuple(r) for r in rows]


@asynccontextmanager
async def transaction(store: Store) -> AsyncIterator[Db]:
    """Tests only: one transaction on the store's database file through a connection of its
    own, statement by statement on the event loop, as an operator's ``sqlite3`` would read or
    seed it (the daemon's own transactions run whole in a worker thread, :meth:`Store.run`)."""
    if store.postgres:
        con: Any = postgres.connect(store.path)
    else:
        con = sqlite3.connect(store.path, isolation_level=None, timeout=10)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys=ON")
    try:
        con.execute("BEGIN" if store.postgres else "BEGIN IMMEDIATE")
        try:
            yield bind(con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()


@dataclass
class Harness:
    store: Store
    clock: FakeClock
    sink: SmtpSink
    processor: Processor
    scheduler: Scheduler
    sender: Sender

    async def receive(self, raw: bytes) -> None:
        now = self.clock.now()
        await self.store.run(
            lambda db: inbox.store_raw(
                db, raw, now, now, source="test", keys=conversation.keys(raw)
            )
        )
        await self.processor.process_pending()
        await self.sender.drain()

    async def later(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.scheduler.tick()
        await self.sender.drain()

    async def scalar(self, sql: str) -> object:
        row = await self.store.run(lambda db: db.execute(sql).fetchone())
        return row[0] if row else None

    async def joined(self, sql: str, sep: str = ",") -> str:
        """The first column of every row ``sql`` reads, joined (in the rows' order)."""
        rows = await self.store.run(lambda db: db.execute(sql).fetchall())
        return sep.join(str(r[0]) for r in rows)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.sink.messages if m["To"] == address]
