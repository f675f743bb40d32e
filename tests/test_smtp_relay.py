"""The sender's conversation with the relay (gateway/daemon/relay.py): TLS as configured, with the
certificate checked unless told not to; the bytes on the wire; and a stop that does not wait on a
relay that stopped answering, with nothing lost."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import pytest

from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.daemon import relay
from gateway.daemon.oauth2 import TokenSource
from gateway.daemon.relay import classify_error
from gateway.daemon.sender import Sender
from gateway.mail import conversation
from gateway.store import inbox
from tests.conftest import customer_mail, harness
from tests.harness import Harness


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A relay's TLS: a self-signed certificate for 127.0.0.1 (no CA the client trusts)."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=relay.test"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(params=["starttls", "tls"])
async def tls_sink(
    request: pytest.FixtureRequest, server_tls: ssl.SSLContext
) -> AsyncIterator[tuple[str, SmtpSink]]:
    """A relay that takes mail only over TLS: STARTTLS required before MAIL, or implicit."""
    sink = SmtpSink(tls=server_tls, implicit_tls=request.param == "tls")
    await sink.start()
    try:
        yield request.param, sink
    finally:
        await sink.stop()


async def test_mail_goes_over_tls_as_configured(
    make_config: Callable[..., Config], clock: FakeClock, tls_sink: tuple[str, SmtpSink]
) -> None:
    mode, sink = tls_sink
    config = make_config(smtp={"port": sink.port, "tls": mode, "tls_verify": False})
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1))
        assert {m["X-Support-Kind"] for m in sink.messages} == {"ack", "se-copy"}
        assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'sent'") == 2


async def test_a_certificate_nobody_vouches_for_is_refused_and_the_mail_waits(
    make_config: Callable[..., Config], clock: FakeClock, tls_sink: tuple[str, SmtpSink]
) -> None:
    """tls_verify (the default) checks the relay's certificate: a self-signed one is a relay
    we cannot trust; nothing is sent to it, and the mail is kept for a retry, not dead."""
    mode, sink = tls_sink
    config = make_config(smtp={"port": sink.port, "tls": mode})
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1))
        assert sink.messages == []
        assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'queued'") == 2
        error = str(await h.scalar("SELECT last_error FROM outbox WHERE kind = 'ack'"))
        assert error.startswith("relay unreachable: SSLCertVerificationError")
        assert "certificate verify failed" in error


async def test_starttls_asked_of_a_relay_that_does_not_offer_it_is_not_sent_in_clear(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    config = make_config(smtp={"port": sink.port, "tls": "starttls"})
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1))
        assert sink.messages == []
        error = str(await h.scalar("SELECT last_error FROM outbox WHERE kind = 'ack'"))
        assert "relay unreachable: SMTPNotSupportedError: STARTTLS" in error
        assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'queued'") == 2


def _relay(sink: SmtpSink, config: Config) -> relay.smtplib.SMTP:
    return relay.connect(
        config.smtp.model_copy(update={"port": sink.port}),
        "",
        TokenSource(config.smtp.oauth2_token),
    )


async def test_every_line_goes_out_ending_in_crlf_and_a_leading_dot_survives(
    make_config: Callable[..., Config], sink: SmtpSink
) -> None:
    raw = b"Subject: lines\nX-A: 1\r\n\r\n.starts with a dot\rbare CR\nbare LF\r\n..two dots\r\n"
    smtp = await asyncio.to_thread(_relay, sink, make_config())
    refused = await asyncio.to_thread(relay.send, smtp, "s@example.com", ["r@example.com"], raw)
    await asyncio.to_thread(relay.quit, smtp)
    assert refused == {}
    got = sink.messages[0].raw
    assert got.count(b"\n") == got.count(b"\r\n") and got.count(b"\r") == got.count(b"\r\n")
    assert got.split(b"\r\n")[3:6] == [b".starts with a dot", b"bare CR", b"bare LF"]
    assert b"\r\n..two dots\r\n" in got


async def test_some_recipients_refused_are_named_and_the_rest_get_it(
    make_config: Callable[..., Config], sink: SmtpSink
) -> None:
    sink.refuse["gone@example.com"] = "550 5.1.1 no such user"
    sink.refuse["full@example.com"] = "452 4.2.2 mailbox full"
    smtp = await asyncio.to_thread(_relay, sink, make_config())
    refused = await asyncio.to_thread(
        relay.send,
        smtp,
        "s@example.com",
        ["r@example.com", "gone@example.com", "full@example.com"],
        b"Subject: x\r\n\r\nhi\r\n",
    )
    assert {a: (r.code, r.message) for a, r in refused.items()} == {
        "gone@example.com": (550, "5.1.1 no such user"),
        "full@example.com": (452, "4.2.2 mailbox full"),
    }
    assert sink.messages[0].rcpt == ["r@example.com"]
    sink.refuse["r@example.com"] = "550 5.1.1 no such user"
    with pytest.raises(relay.smtplib.SMTPRecipientsRefused) as refusal:
        await asyncio.to_thread(
            relay.send, smtp, "s@example.com", ["r@example.com"], b"Subject: x\r\n\r\nhi\r\n"
        )
    failure = classify_error(refusal.value)
    assert failure.permanent and "r@example.com: 550 5.1.1 no such user" in failure.text
    assert relay.connected(smtp), "a refusal is an answer: the conversation goes on"
    await asyncio.to_thread(relay.quit, smtp)


async def _silent_after_data(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    got_body: asyncio.Event,
    clients: list[asyncio.StreamWriter],
    taken: int = 0,
) -> None:
    """A relay that takes the envelope and the body, then never answers (a hung server); with
    ``taken``, it first takes that many mails as a relay does."""
    clients.append(writer)
    writer.write(b"220 hung.test ESMTP\r\n")
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            while (await reader.readline()) not in (b".\r\n", b""):
                pass
            if taken:
                taken -= 1
                writer.write(b"250 2.0.0 queued\r\n")
                continue
            got_body.set()
            await reader.read()  # silence until the client goes
            break
        writer.write(b"250 ok\r\n" if verb != b"QUIT" else b"221 bye\r\n")
    writer.close()


@asynccontextmanager
async def _stopped_while_the_relay_hangs(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink, taken: int = 0
) -> AsyncIterator[Harness]:
    """One customer mail processed (its ack and SE copy queued), a drain towards a relay that
    takes ``taken`` mails and then hangs after the next one's body, and the daemon's stop (after
    its drain_seconds) while it hangs: the drain must end within 5 s, not the relay's 300."""
    got_body = asyncio.Event()
    clients: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(
        partial(_silent_after_data, got_body=got_body, clients=clients, taken=taken),
        "127.0.0.1",
        0,
    )
    port = server.sockets[0].getsockname()[1]
    try:
        async with harness(make_config(), clock, sink) as h:
            raw, now = customer_mail(1), clock.now()
            keys = conversation.keys(raw)
            await h.store.run(
                lambda db: inbox.store_raw(db, raw, now, now, source="test", keys=keys)
            )
            await h.processor.process_pending()  # the ack and the SE's copy queued: one run
            hung_cfg = h.sender.cfg.model_copy(update={"port": port, "timeout_seconds": 300})
            draining = asyncio.create_task(Sender(h.store, hung_cfg, clock).drain())
            await asyncio.wait_for(got_body.wait(), 10)
            draining.cancel()  # the daemon's stop, after its drain_seconds
            done, _ = await asyncio.wait([draining], timeout=5)  # not the relay's 300 s
            assert draining in done and draining.cancelled()
            yield h
    finally:
        for client in clients:  # (a sender still waiting on one gets its end here)
            client.close()
        server.close()
        await server.wait_closed()


async def test_a_stop_does_not_wait_on_a_relay_that_stopped_answering_and_loses_nothing(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    async with _stopped_while_the_relay_hangs(make_config, clock, sink) as h:
        queued = await h.scalar("SELECT count(*) FROM outbox WHERE state = 'queued'")
        assert queued == 2, "the mail in hand is not marked sent: it goes again"
        await h.sender.drain()
        assert {m["X-Support-Kind"] for m in sink.messages} == {"ack", "se-copy"}
        assert len(sink.messages) == 2


async def test_a_stop_in_the_middle_of_a_run_marks_what_the_relay_took_and_sends_the_rest_later(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    """Mails go several to a call to the relay's thread: stopped while the relay hangs on the
    second, the first (taken with a 250) is marked sent and never goes again; the second does."""
    async with _stopped_while_the_relay_hangs(make_config, clock, sink, taken=1) as h:
        states = await h.store.run(
            lambda db: db.execute("SELECT kind, state FROM outbox ORDER BY id").fetchall()
        )
        assert [tuple(r) for r in states] == [("ack", "sent"), ("se-copy", "queued")]
        assert await h.sender.drain() == 1
        assert [m["X-Support-Kind"] for m in sink.messages] == ["se-copy"]
