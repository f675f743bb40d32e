"""A backlog goes to the relay over several connections at once (``smtp.connections``): a
distant relay's round trips overlap. Each mail still goes once, every one is marked sent, at
most four are ever out and unrecorded whatever the number of connections, and a relay that takes
fewer connections gets everything over those it takes."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.cli import sink as sink_module
from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.daemon import drain as drain_module
from gateway.daemon import relay
from gateway.store import outbox
from tests.conftest import customer_mail, harness
from tests.harness import Harness, storing, transaction


async def queued_mails(h: Harness, customers: int, first: int = 0) -> int:
    """``customers`` new mails processed (numbered from ``first``): their acknowledgements and
    copies queued."""
    raws = [
        customer_mail(n, sender=f"c{n}@acme.example", subject=f"case {n}")
        for n in range(first, first + customers)
    ]
    await h.store.run(storing(raws, h.clock.now()))
    assert await h.processor.process_pending() == customers
    queued = await h.scalar("SELECT count(*) FROM outbox WHERE state = 'queued'")
    assert isinstance(queued, int) and queued >= 2 * customers
    return queued


def refusals_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The sender's log lines about a connection the relay refused."""
    lines = [r.getMessage() for r in caplog.records]
    return [line for line in lines if "relay-connection-refused" in line]


def at_most_open(monkeypatch: pytest.MonkeyPatch, most: int) -> Callable[[], int]:
    """The relay answers a connection 421 while ``most`` of ours are open (a provider's limit
    on connections at once); returns how many connections were asked for so far."""
    connect = relay.connect
    opened: list[smtplib.SMTP] = []
    asked = 0

    def limited(*args: Any, **kwargs: Any) -> smtplib.SMTP:
        nonlocal asked
        asked += 1
        if sum(smtp.sock is not None for smtp in opened) >= most:
            raise smtplib.SMTPConnectError(421, b"4.7.0 too many connections from your host")
        smtp = connect(*args, **kwargs)
        opened.append(smtp)
        return smtp

    monkeypatch.setattr(relay, "connect", limited)
    return lambda: asked


async def test_a_backlog_goes_over_two_connections_at_once_and_each_mail_once(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay holds each mail's DATA until mail is in DATA over a second connection too: one
    connection alone would never get its 250 (the relay then refuses, and the mail would not be
    sent). With the default two, both are in flight together, and each mail arrives once."""
    queued = await queued_mails(h, 6)
    in_data: set[object] = set()
    both = asyncio.Event()
    handle_data = sink_module._Handler.handle_DATA

    async def data_once_two_are_open(
        self: Any, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        in_data.add(session.peer)
        if len(in_data) >= 2:
            both.set()
        try:
            await asyncio.wait_for(both.wait(), 5)
        except TimeoutError:
            return "554 only one connection was ever in DATA"
        return await handle_data(self, server, session, envelope)

    monkeypatch.setattr(sink_module._Handler, "handle_DATA", data_once_two_are_open)
    assert await h.sender.drain() == queued
    ids = [m["Message-ID"] for m in h.sink.messages]
    assert len(ids) == queued and len(set(ids)) == queued
    assert len({m.peer for m in h.sink.messages}) == 2
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'sent'") == queued
    assert h.sender.sent == queued


async def test_at_most_four_mails_are_out_and_unrecorded_over_all_connections(
    make_config: Callable[..., Config],
    clock: FakeClock,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With four connections and the first "sent" mark held in the database, the relay gets
    four mails and no more (what a crash then could send twice); freed, every mail goes once."""
    config = make_config(smtp={"connections": 4})
    async with harness(config, clock, sink) as h:
        queued = await queued_mails(h, 8)
        held, free = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        mark_sent = outbox.mark_sent

        def held_mark(*args: Any, **kwargs: Any) -> None:
            if not held.is_set():
                loop.call_soon_threadsafe(held.set)
                asyncio.run_coroutine_threadsafe(free.wait(), loop).result(10)
            mark_sent(*args, **kwargs)

        monkeypatch.setattr(outbox, "mark_sent", held_mark)
        draining = asyncio.create_task(h.sender.drain())
        await asyncio.wait_for(held.wait(), 10)
        for _ in range(30):  # the connections have time to send more, if they would
            await asyncio.sleep(0.01)
        assert len(sink.messages) == drain_module.UNMARKED_MAX
        free.set()
        assert await draining == queued
        assert len({m["Message-ID"] for m in sink.messages}) == len(sink.messages) == queued
        assert len({m.peer for m in sink.messages}) > 1


async def test_a_relay_that_takes_one_connection_gets_every_mail_over_it(
    h: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A relay that answers a second connection 421 (too many connections): the first sends
    everything, nothing is failed or lost, and the log says why fewer connections were used.
    The next drains for ten minutes ask for no second connection (none refused, nothing
    logged again); after that, one more try."""
    asked = at_most_open(monkeypatch, 1)
    caplog.set_level(logging.INFO, logger="gateway.sender")
    queued = await queued_mails(h, 5)
    assert await h.sender.drain() == queued
    assert asked() == 2
    assert len({m.peer for m in h.sink.messages}) == 1
    assert len({m["Message-ID"] for m in h.sink.messages}) == len(h.sink.messages) == queued
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state != 'sent'") == 0
    (refused,) = refusals_in(caplog)
    assert "421" in refused and "too many connections" in refused
    assert "at most 1 connection for 10 minutes" in refused

    h.clock.advance(timedelta(minutes=9))
    later = await queued_mails(h, 5, first=5)
    assert await h.sender.drain() == later
    assert asked() == 3 and len(refusals_in(caplog)) == 1  # one connection asked for, none refused

    h.clock.advance(timedelta(minutes=2))
    last = await queued_mails(h, 5, first=10)
    assert await h.sender.drain() == last
    assert (
        asked() == 5 and len(refusals_in(caplog)) == 2
    )  # ten minutes on: a second asked for again
    assert len(h.sink.messages) == queued + later + last
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state != 'sent'") == 0


async def test_a_relay_that_takes_two_of_four_connections_gets_two_for_a_while(
    make_config: Callable[..., Config],
    clock: FakeClock,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``connections = 4`` and a relay that takes two: the third is refused once, the fourth is
    not asked for, and the next drain opens two (not four, to be refused again)."""
    config = make_config(smtp={"connections": 4})
    caplog.set_level(logging.INFO, logger="gateway.sender")
    async with harness(config, clock, sink) as h:
        asked = at_most_open(monkeypatch, 2)
        queued = await queued_mails(h, 8)
        assert await h.sender.drain() == queued
        assert asked() == 3
        refused = refusals_in(caplog)
        assert len(refused) == 1 and "at most 2 connections for 10 minutes" in refused[0]
        more = await queued_mails(h, 8, first=8)
        assert await h.sender.drain() == more
        assert asked() == 5
        assert len({m["Message-ID"] for m in sink.messages}) == len(sink.messages) == queued + more


async def test_one_connection_sends_the_backlog_alone(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    config = make_config(smtp={"connections": 1})
    async with harness(config, clock, sink) as h:
        queued = await queued_mails(h, 6)
        assert await h.sender.drain() == queued
        assert len({m.peer for m in sink.messages}) == 1
        assert len({m["Message-ID"] for m in sink.messages}) == len(sink.messages) == queued


async def test_a_recipient_who_bounced_gets_nothing_on_a_later_page(h: Harness) -> None:
    """More mail than a page (50 rows), shared by two connections: the last customer's address
    bounced lately, so the acknowledgement on the second page is not sent but dead-lettered with
    the reason, and everyone else's mail goes once."""
    queued = await queued_mails(h, 30)
    assert queued > drain_module.PAGE
    now = h.clock.now()
    async with transaction(h.store) as db:
        outbox.mark_undeliverable(db, "c29@acme.example", now + timedelta(days=7), "550", None)
    assert await h.sender.drain() == queued - 1
    assert [m for m in h.sink.messages if "c29@acme.example" in m.rcpt] == []
    assert len({m["Message-ID"] for m in h.sink.messages}) == len(h.sink.messages) == queued - 1
    dead = await h.scalar("SELECT last_error FROM outbox WHERE state = 'dead'")
    assert "undeliverable" in str(dead) and "c29@acme.example" in str(dead)
