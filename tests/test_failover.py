"""Several gateways on one PostgreSQL database: all of them process stored mail and send; one
leads (watches the mailbox, runs the scheduler) and another takes over when its session ends.
Real Dovecot, real PostgreSQL, real SMTP sink."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from gateway.cli import status
from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config, parse_config
from gateway.core.models import MailKind, Outbound
from gateway.daemon.app import Gateway
from gateway.store import Db, Store, outbox
from gateway.store.lease import KEY
from tests.conftest import (
    MONDAY_10,
    acks,
    base_config,
    customer_mail,
    eventually,
    imap_section,
    running,
)
from tests.dovecot import Dovecot
from tests.harness import storing, transaction
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


async def test_a_worker_takes_over_when_the_leader_dies_and_nothing_is_answered_twice(
    postgres_server: Postgres, mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, tmp_path: Path
) -> None:
    url = postgres_server.database()
    config = shared_config(tmp_path, sink, mailbox, url)
    first, second = Gateway(config, clock, drain_seconds=5), Gateway(config, clock, drain_seconds=5)
    await first.start()
    await second.start()
    try:
        assert first.health()["role"] == "leader" and second.health()["role"] == "worker"
        assert second.imap is not None and not second.imap.connected.is_set()
        assert "worker" in second.status_line()
        assert first.lease is not None
        shown = status.render(status.collect(url, clock.now()))
        assert f"leader:       {first.lease.holder}" in shown, "status says who leads"
        await eventually(first.imap.connected.is_set)  # type: ignore[union-attr]

        mailbox.append(customer_mail(1))
        await sink.wait_for(2)  # the acknowledgement and the SE's copy, from the leader

        assert end_leader_session(url) == 1
        ended = time.monotonic()  # a protocol timer: how long the take-over takes
        await eventually(first.lease_lost.is_set)
        await first.stop()  # (run_all does this, and exits 75 for systemd)
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


async def test_every_gateway_works_the_backlog_and_each_conversation_keeps_its_order(
    postgres_server: Postgres, sink: SmtpSink, clock: FakeClock, tmp_path: Path
) -> None:
    """Three gateways process one backlog at once. Each customer wrote twice (the second mail
    answers the first) and a colleague copied on the first answered it too: whichever gateway
    takes a later mail, it waits for the first of its conversation, so every conversation is
    one ticket with one acknowledgement."""
    url = postgres_server.database()
    data = base_config(tmp_path)
    data["smtp"]["port"] = sink.port
    data["database"] = {"url": url}
    config = parse_config(data)
    customers = 15
    raws = []
    for n in range(customers):
        first = f"<customer-{n}@acme.example>"
        colleague = f"colleague{n}@acme.example"
        raws.append(customer_mail(n, sender=f"user{n}@acme.example", headers={"Cc": colleague}))
        raws.append(
            customer_mail(
                f"{n}-again",
                sender=f"user{n}@acme.example",
                subject=f"Re: Problem number {n}",
                body="One more thing: it fails on Tuesdays too. Does that help?",
                in_reply_to=first,
            )
        )
        raws.append(
            customer_mail(
                f"{n}-colleague",
                sender=colleague,
                subject=f"Re: Problem number {n}",
                body="Same here on my machine. When will it be fixed?",
                in_reply_to=first,
            )
        )
    gateways = [Gateway(config, clock, drain_seconds=5) for _ in range(3)]
    for gw in gateways:
        await gw.start()
    try:
        async with Store(url) as store:
            await store.run(storing(raws, clock.now()))

            def waiting(db: Db) -> int:
                return int(
                    db.execute("SELECT count(*) FROM inbox WHERE state = 'new'").fetchone()[0]
                )

            for gw in gateways:
                gw.poke()
            await eventually(lambda: sum(gw.processor.done for gw in gateways) == len(raws), 60)
            async with transaction(store) as db:
                waiting = db.execute("SELECT count(*) FROM inbox WHERE state = 'new'").fetchone()
                assert waiting[0] == 0
                rows = db.execute(
                    "SELECT i.message_id, i.ticket_id, t.key FROM inbox i"
                    " JOIN tickets t ON t.id = i.ticket_id ORDER BY i.id"
                ).fetchall()
                tickets = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
    finally:
        for gw in gateways:
            await gw.stop()
    shares = [gw.processor.done for gw in gateways]
    print(f"messages processed by each gateway: {shares}")
    assert sum(1 for n in shares if n) >= 2, "more than one gateway did the work"
    assert tickets == customers, "one ticket per conversation"
    assert len(rows) == len(raws), "every mail on a ticket"
    ticket_of = {r[0]: r[1] for r in rows}
    key_of = {r[0]: r[2] for r in rows}
    for n in range(customers):
        first = ticket_of[f"<customer-{n}@acme.example>"]
        assert ticket_of[f"<customer-{n}-again@acme.example>"] == first
        assert ticket_of[f"<customer-{n}-colleague@acme.example>"] == first
    await eventually(lambda: len(acks(sink)) >= len(raws), 60)  # ~90 mails; slow under load
    answered = [m["In-Reply-To"] for m in acks(sink)]
    assert len(answered) == len(set(answered)) == len(raws), "each mail answered once"
    for m in acks(sink):
        assert f"[{key_of[m['In-Reply-To']]}]" in m["Subject"], "answered on its own ticket"


async def test_mail_a_killed_gateway_had_claimed_is_sent_by_another_at_once(
    postgres_server: Postgres,
) -> None:
    """A sender's claim lives as long as its database session: a gateway killed with mail in
    hand leaves it to the others at once, not after the claim's two minutes."""
    url = postgres_server.database()
    now = MONDAY_10
    async with Store(url) as b:
        a = Store(url)
        await a.start()

        def queue(db: Db) -> None:
            outbox.enqueue(
                db,
                Outbound(MailKind.ACK, "<m@ex.com>", "support@ex.com", ("x@y.example",), b"x"),
                None,
                now,
            )

        await a.run(queue)
        assert len(await a.run(lambda db: outbox.due(db, now, 50))) == 1
        assert await b.run(lambda db: outbox.due(db, now, 50)) == [], "claimed by a live sender"
        await a.stop()  # its session ends, as a SIGKILLed gateway's does
        again: list[outbox.OutboxRow] = []

        async def taken() -> bool:
            again.extend(await b.run(lambda db: outbox.due(db, now, 50)))
            return bool(again)

        await eventually(taken, 5)  # (the clock stands still: the claim itself never ends)
        assert [r.message_id for r in again] == ["<m@ex.com>"], "due to the others at once"


async def test_mail_the_database_will_not_store_makes_healthz_degraded_until_it_does(
    postgres_server: Postgres, mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, tmp_path: Path
) -> None:
    """An error of ours in storing fetched mail (here a table gone: PostgreSQL refuses the
    query, which no retry mends) is retried without loss, and /healthz says so meanwhile."""
    url = postgres_server.database()
    config = shared_config(tmp_path, sink, mailbox, url)
    async with running(config, clock) as gw:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("ALTER TABLE inbox_keys RENAME TO inbox_keys_gone")
        mailbox.append(customer_mail(1))
        await eventually(lambda: not gw.health()["ok"])
        assert str(gw.health()["imap"]).startswith("degraded: mail cannot be stored: ")
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("ALTER TABLE inbox_keys_gone RENAME TO inbox_keys")
        await sink.wait_for(2)  # fetched again and answered: nothing lost
        await eventually(lambda: gw.health()["ok"])
