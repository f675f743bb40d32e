"""Several gateways on one PostgreSQL database: one leads (watches the mailbox, processes,
sends, runs the scheduler), the others stand by and take over when its session ends. Real
Dovecot, real PostgreSQL, real SMTP sink."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from gateway import status
from gateway.app import Gateway
from gateway.clock import FakeClock
from gateway.config import Config, parse_config
from gateway.models import MailKind, Outbound
from gateway.sink import SmtpSink
from gateway.store import Db, Store, outbox
from gateway.store.lease import KEY
from tests.conftest import (
    MONDAY_10,
    acks,
    base_config,
    customer_mail,
    eventually,
    imap_section,
)
from tests.dovecot import Dovecot
from tests.postgres import Postgres


def shared_config(tmp_path: Path, sink: SmtpSink, mailbox: Dovecot, url: str) -> Config:
    data = base_config(tmp_path)
    data["smtp"]["port"] = sink.port
    data["database"] = {"url": url, "takeover_seconds": 3}
    data["imap"] = imap_section(mailbox, tmp_path)
    return parse_config(data)


def end_leader_session(url: str) -> int:
    """What a dead leader host looks like to PostgreSQL: its lease session ends."""
    with psycopg.connect(url, autocommit=True) as con:
        row = con.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted"
            " AND (classid::bigint << 32) | objid::bigint = %s",
            (KEY,),
        ).fetchone()
    return int(row[0]) if row else 0


async def test_a_standby_takes_over_when_the_leader_dies_and_nothing_is_answered_twice(
    postgres_server: Postgres, mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, tmp_path: Path
) -> None:
    url = postgres_server.database()
    config = shared_config(tmp_path, sink, mailbox, url)
    first, second = Gateway(config, clock, drain_seconds=5), Gateway(config, clock, drain_seconds=5)
    await first.start()
    await second.start()
    try:
        assert first.health()["role"] == "leader" and second.health()["role"] == "standby"
        assert second.imap is not None and not second.imap.connected.is_set()
        assert "standby" in second.status_line()
        assert first.lease is not None
        shown = status.render(status.collect(url, clock.now()))
        assert f"leader:       {first.lease.holder}" in shown, "status says who leads"
        await eventually(first.imap.connected.is_set)  # type: ignore[union-attr]

        mailbox.append(customer_mail(1))
        await sink.wait_for(2)  # the acknowledgement and the SE's copy, from the leader

        assert end_leader_session(url) == 1
        ended = time.monotonic()  # a protocol timer: how long the take-over takes
        await eventually(first.lease_lost.is_set)
        await first.stop()  # (run_until_signalled does this, and exits 75 for systemd)
        await eventually(lambda: second.lease is not None and second.lease.leading)
        await eventually(second.imap.connected.is_set)
        took = time.monotonic() - ended
        print(f"take-over: {took:.2f} s (takeover_seconds = 3)")
        assert took < 3 + 2, "within the configured take-over time (and the IMAP login)"
        assert second.health()["role"] == "leader"

        mailbox.append(customer_mail(2, sender="bob@globex.example"))
        await sink.wait_for(4)
        await eventually(lambda: mailbox.count("Processed") == 2)
    finally:
        await second.stop()
        if first.store.started:
            await first.stop()
    assert "none: no gateway is running" in status.render(status.collect(url, clock.now()))
    assert [m["In-Reply-To"] for m in acks(sink)] == [
        "<customer-1@acme.example>",
        "<customer-2@globex.example>",
    ], "each mail acknowledged once, across the take-over"


async def test_mail_one_gateway_is_sending_is_not_taken_by_another(
    postgres_server: Postgres,
) -> None:
    """Two gateways' senders at the same instant (a take-over): the rows one takes are claimed,
    the other finds none; given back unsent, they are due again at once."""
    url = postgres_server.database()
    now = MONDAY_10
    async with Store(url) as a, Store(url) as b:

        def queue(db: Db) -> None:
            for n in range(3):
                outbox.enqueue(
                    db,
                    Outbound(
                        MailKind.ACK, f"<m{n}@ex.com>", "support@ex.com", ("x@y.example",), b"x"
                    ),
                    None,
                    now,
                )

        await a.run(queue)
        taken = await a.run(lambda db: outbox.due(db, now, 50))
        assert len(taken) == 3
        assert await b.run(lambda db: outbox.due(db, now, 50)) == [], "claimed by the first"
        await a.run(lambda db: outbox.unclaim(db, [r.id for r in taken[1:]], now))
        again = await b.run(lambda db: outbox.due(db, now, 50))
        assert [r.id for r in again] == [r.id for r in taken[1:]]
