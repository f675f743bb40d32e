"""The daemon end to end: real Dovecot in, real SMTP socket out, fake business clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.store import Store
from tests.conftest import acks, answered_inline, customer_mail, eventually, relay_reply, running
from tests.dovecot import Dovecot
from tests.harness import transaction

pytestmark = pytest.mark.dovecot
ROUNDS = 5  # Dovecot sends IDLE's continuation and the EXISTS in one packet only sometimes


def se_copies(sink: SmtpSink) -> list:
    return [m for m in sink.messages if "] New:" in m["Subject"] or "] Follow-up:" in m["Subject"]]


async def test_twenty_customer_mails_get_twenty_threaded_acks_and_se_copies(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    # A team that answers twenty replies a day each: every date here is the policy's (what a
    # busier team is promised is tests/test_capacity.py's).
    config = make_config(mailbox, capacity={"replies_per_day": 20})
    # Twenty customers of three kinds: an account with SE and SC, one with an SC, unknown.
    domains = ["acme.example", "globex.example", "unknown.example"]
    senders = [f"customer{n}@{domains[n % 3]}" for n in range(20)]
    async with running(config, clock):
        for n in range(20):
            mailbox.append(customer_mail(n, sender=senders[n]))
        await sink.wait_for(40, timeout=30)
        await eventually(lambda: mailbox.count("Processed") == 20)

    assert len(sink.messages) == 40
    by_reply = {m["In-Reply-To"]: m for m in acks(sink)}
    expected = {f"<customer-{n}@{domains[n % 3]}>" for n in range(20)}
    assert set(by_reply) == expected, "one acknowledgement threaded to each customer mail"
    for n in range(20):
        ack = by_reply[f"<customer-{n}@{domains[n % 3]}>"]
        assert ack["To"] == senders[n]
        assert "[SUP-" in ack["Subject"] and ack["Subject"].startswith("Re: Problem number")
        assert ack["References"].endswith(ack["In-Reply-To"])
        assert ack["X-Auto-Response-Suppress"] == "All"
        assert ack["Message-ID"].endswith("@example.com>")
        assert "will answer your question by Tuesday 24 November, 10:00 EST" in ack.text()
        assert ack.html() and "Tuesday 24 November, 10:00 EST" in ack.html()
    copies = se_copies(sink)
    assert len(copies) == 20
    by_customer = {
        c.message.get_body(("plain",))
        .get_content()
        .split("\nFrom:      ")[1]
        .split(">")[0]
        .split("<")[1]: (c["To"], c["Cc"])
        for c in copies
    }
    ses = {"sam@example.com", "dana@example.com"}
    for customer, (to, cc) in by_customer.items():
        if customer.endswith("@acme.example"):  # Acme: the account's SE and SC
            assert (to, cc) == ("sam@example.com", "casey@example.com")
        elif customer.endswith("@globex.example"):  # Globex: no SE of its own; its SC
            assert to in ses and cc == "robin@example.com"
        else:  # unknown customer: the least-loaded SE, no SC
            assert to in ses and cc == ""
    for c in copies:
        attached = [
            p for p in c.message.iter_attachments() if p.get_content_type() == "message/rfc822"
        ]
        assert len(attached) == 1, "the SE copy carries the customer's original"
    assert mailbox.count("INBOX") == 0


async def test_follow_up_goes_to_the_same_se_without_a_second_ack(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    async with running(config, clock):
        mailbox.append(customer_mail(1, sender="li@globex.example"))
        await sink.wait_for(2)
        ack = acks(sink)[0]
        mailbox.append(
            customer_mail(
                "1-more",
                sender="li@globex.example",
                subject=ack["Subject"],
                body="More detail: it started at 09:00.",
                in_reply_to=ack["Message-ID"],
            )
        )
        await sink.wait_for(4)
        await eventually(lambda: mailbox.count("Processed") == 2)

    # News while a reply is owed: only the short "added to the ticket" acknowledgement.
    assert len(acks(sink)) == 2
    assert "we have added it to ticket SUP-1001" in acks(sink)[1].text()
    follow = [m for m in sink.messages if m["X-Support-Kind"] == "se-copy"][-1]
    assert follow["To"] == "dana@example.com"
    assert "Follow-up" in follow["Subject"]
    assert "More detail" in follow.text()


async def test_auto_submitted_mail_gets_nothing_and_is_still_kept(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    async with running(config, clock):
        mailbox.append(customer_mail("ooo", headers={"Auto-Submitted": "auto-replied"}))
        mailbox.append(customer_mail("human"))
        await sink.wait_for(2)
        await eventually(lambda: mailbox.count("Processed") == 2)

    assert [m["In-Reply-To"] for m in acks(sink)] == ["<customer-human@acme.example>"]
    async with transaction(Store(config.database.target)) as db:
        rows = db.execute(
            "SELECT action, reason FROM inbox WHERE message_id = '<customer-ooo@acme.example>'"
        ).fetchall()
    assert [tuple(r) for r in rows] == [
        ("suppress", "auto-reply: Auto-Submitted: auto-replied (rule auto-submitted)")
    ]


async def test_restart_mid_stream_neither_loses_nor_repeats(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    # Fifteen of Acme's tickets for Sam in a minute: a team that answers that many a day (the
    # dates a busier team is given are tests/test_capacity.py's).
    config = make_config(mailbox, capacity={"replies_per_day": 20})
    async with running(config, clock):
        for n in range(10):
            mailbox.append(customer_mail(n, sender=f"c{n}@acme.example"))
        await sink.wait_for(1)  # stop while the stream is still being worked through
    for n in range(10, 15):
        mailbox.append(
            customer_mail(n, sender=f"c{n}@acme.example")
        )  # arrives while the daemon is down
    async with running(config, clock):
        await sink.wait_for(30, timeout=30)
        await eventually(lambda: mailbox.count("Processed") == 15)

    replies = sorted(m["In-Reply-To"] for m in acks(sink))
    assert replies == sorted(f"<customer-{n}@acme.example>" for n in range(15))
    assert len(se_copies(sink)) == 15
    assert len(sink.messages) == 30


async def test_first_start_does_not_acknowledge_old_mail(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    mailbox.append(customer_mail("old"))
    config = make_config(mailbox)
    async with running(config, clock):
        mailbox.append(customer_mail("new"))
        await sink.wait_for(2)
        await eventually(lambda: mailbox.count("Processed") == 1)
    assert [m["In-Reply-To"] for m in acks(sink)] == ["<customer-new@acme.example>"]
    assert mailbox.count("INBOX") == 1, "old mail is left alone"


async def test_missed_eta_gets_exactly_one_revised_eta_end_to_end(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    async with running(config, clock) as gw:
        mailbox.append(customer_mail(1))
        await sink.wait_for(2)
        ack = acks(sink)[0]
        assert "will answer your question by Tuesday 24 November, 10:00 EST" in ack.text()

        clock.advance(__import__("datetime").timedelta(hours=24, minutes=4))  # inside the grace
        gw.poke()
        clock.advance(__import__("datetime").timedelta(minutes=2))  # grace (5 min) is over
        gw.poke()
        await sink.wait_for(4)
        for _ in range(5):  # the scheduler runs again and again: still one revision
            gw.poke()
            await __import__("asyncio").sleep(0.1)

    revised = [m for m in sink.messages if m["To"] == "jane@acme.example" and m is not ack]
    assert len(revised) == 1
    r = revised[0]
    assert r["Cc"] == "casey@example.com"
    assert r["In-Reply-To"] == "<customer-1@acme.example>"
    assert r["Subject"] == ack["Subject"]
    assert "by Tuesday 24 November, 10:00 EST" in r.text()
    assert "will reply by Wednesday 25 November, 17:00 EST" in r.text()
    alerts = [m for m in sink.messages if "Missed date" in m["Subject"]]
    assert [(a["To"], a["Cc"]) for a in alerts] == [("sam@example.com", "casey@example.com")]


async def test_an_se_runs_the_case_from_a_mail_client(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    async with running(config, clock):
        mailbox.append(customer_mail(1, body="Exports fail with E42. Can you help?"))
        await sink.wait_for(2)
        copy = next(m for m in sink.messages if m["X-Support-Kind"] == "se-copy")

        def reply(n: str, body: str, sender: str = "sam@example.com") -> bytes:
            return relay_reply(copy, body, n, sender)

        mailbox.append(
            reply(
                "se-1",
                "#eta tomorrow 15:00\nHello Jane, a fix is on its way.\n\n"
                "> quoted copy of the SE mail",
            )
        )
        mailbox.append(reply("forged", "#resolved\nAll fixed!", sender="jane@acme.example"))
        await sink.wait_for(5)
        mailbox.append(reply("se-2", "#resolved\nFixed in 4.2."))
        await sink.wait_for(8)
        await eventually(lambda: mailbox.count("Processed") == 4)

    kinds = [m["X-Support-Kind"] for m in sink.messages]
    assert sorted(kinds) == sorted(
        ["ack", "se-copy", "reply", "se-confirm", "security-alert", "reply", "done", "se-confirm"]
    )
    replies = [m for m in sink.messages if m["X-Support-Kind"] == "reply"]
    assert [r.text().splitlines()[0] for r in replies] == [
        "Hello Jane, a fix is on its way.",
        "Fixed in 4.2.",
    ]
    for r in replies:
        assert (r["To"], r["Cc"]) == ("jane@acme.example", "casey@example.com")
        assert r["In-Reply-To"] == "<customer-1@acme.example>"
    assert "We will get back to you by Tuesday 24 November, 15:00 EST" in replies[0].text()
    assert "All fixed" not in "".join(
        m.text() for m in sink.messages if m["To"] == "jane@acme.example"
    )


async def test_inline_points_and_answers_end_to_end(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    body = "Hello,\n\nWhy does the export fail? Is 4.2 affected? How do I get the logs?\n\nJane"
    async with running(config, clock):
        mailbox.append(customer_mail(1, body=body))
        await sink.wait_for(2)
        ack = next(m for m in sink.messages if m["X-Support-Kind"] == "ack")
        copy = next(m for m in sink.messages if m["X-Support-Kind"] == "se-copy")
        answer = answered_inline(
            copy,
            {
                "Why does the export fail?": "A bad index.",
                "Is 4.2 affected?": "Yes: fixed in 4.2.1.",
            },
        )
        mailbox.append(relay_reply(copy, answer))
        await sink.wait_for(4)
        await eventually(lambda: mailbox.count("Processed") == 2)

    ack_text = ack.text().replace("\r\n", "\n")
    assert ack_text.count("> ") == 3 and ack_text.count("Tuesday 24 November") == 1
    relayed = next(m for m in sink.messages if m["X-Support-Kind"] == "reply")
    text = relayed.text().replace("\r\n", "\n")
    assert "> Why does the export fail?\nA bad index." in text
    assert "> Is 4.2 affected?\nYes: fixed in 4.2.1." in text
    assert 'Still open: "How do I get the logs?" - you will hear back by' in text
    assert (relayed["To"], relayed["Cc"]) == ("jane@acme.example", "casey@example.com")


async def test_mail_arriving_just_before_idle_is_taken_at_once(
    mailbox: Dovecot,
    sink: SmtpSink,
    clock: FakeClock,
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mail appended between our SEARCH and the start of IDLE is announced by Dovecot in the
    same packet as IDLE's continuation; imaplib buffers that line where polling the socket cannot
    see it. It must be taken at once, not by the recheck (set here to 10 minutes)."""
    import asyncio

    from gateway.daemon.ingest.imap import ImapIngest

    config = make_config(mailbox, imap={"idle_recheck_seconds": 600})
    fetch_new = ImapIngest._fetch_new
    armed = asyncio.Event()
    appended = 0

    async def fetch_then_append(self: ImapIngest, client: object) -> int:
        nonlocal appended
        stored = await fetch_new(self, client)  # type: ignore[arg-type]
        if armed.is_set():
            armed.clear()
            appended += 1
            mail = customer_mail(100 + appended, sender=f"ann{appended}@acme.example")
            await asyncio.to_thread(mailbox.append, mail)
            await asyncio.sleep(0.3)  # the mail is in the box before IDLE starts
        return stored

    monkeypatch.setattr(ImapIngest, "_fetch_new", fetch_then_append)
    async with running(config, clock) as gw:
        mailbox.append(customer_mail(1))
        await sink.wait_for(2)
        assert gw.imap is not None
        for _ in range(ROUNDS):  # each arms one append right after a SEARCH
            armed.set()
            gw.imap.kick.set()  # leave IDLE: dispose, SEARCH (then the append), IDLE again
            await eventually(lambda: not armed.is_set(), timeout=5)
            await sink.wait_for(len(sink.messages) + 2, timeout=5)
        assert gw.imap.stored == 1 + ROUNDS
    assert len(acks(sink)) == 1 + ROUNDS


async def test_the_stored_count_counts_each_message_once(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox, imap={"fetch_batch": 1})
    for n in range(3):  # already there at start: one SEARCH, three batches of one
        mailbox.append(customer_mail(10 + n, sender=f"c{n}@acme.example"))
    async with running(config, clock, backfill_since=clock.now().date()) as gw:
        assert gw.imap is not None
        await sink.wait_for(6)
        assert gw.imap.stored == 3
        assert "3 stored" in gw.status_line()


async def test_processed_and_quarantined_mail_each_go_to_their_folder(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    """A customer's mail and a malformed one handled together: one moves to Processed, the other
    to Quarantine (both moves in one call to the IMAP thread), nothing stays in the inbox."""
    async with running(make_config(mailbox), clock):
        mailbox.append(b"\r\n\r\n")
        mailbox.append(customer_mail(1))
        await sink.wait_for(2, timeout=30)
        await eventually(lambda: mailbox.count("Processed") == 1)
        await eventually(lambda: mailbox.count("Quarantine") == 1)
    assert mailbox.count("INBOX") == 0


async def test_a_backlog_is_moved_out_of_the_inbox_in_a_few_passes_not_one_a_batch(
    mailbox: Dovecot,
    sink: SmtpSink,
    clock: FakeClock,
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twenty mails processed one a transaction (twenty batches, each saying "mail to move"):
    the inbox is cleared in a few MOVE passes, each some eight hand-offs between threads, not in
    one pass a batch; every mail still lands in Processed."""
    from gateway.daemon import processor
    from gateway.daemon.ingest.imap import ImapIngest

    monkeypatch.setattr(processor, "BATCH_MESSAGES", 1)
    passes: list[int] = []
    move_all = ImapIngest._move_all

    def counted(self: ImapIngest, client: object, moves: list[tuple[list[int], str]]) -> None:
        passes.append(sum(len(uids) for uids, _ in moves))
        move_all(self, client, moves)  # type: ignore[arg-type]

    monkeypatch.setattr(ImapIngest, "_move_all", counted)
    for n in range(20):
        mailbox.append(customer_mail(n, sender=f"c{n}@acme.example"))
    async with running(make_config(mailbox), clock, backfill_since=clock.now().date()):
        await sink.wait_for(40, timeout=30)
        await eventually(lambda: mailbox.count("Processed") == 20)
    assert sum(passes) == 20
    assert len(passes) <= 3, passes
    assert mailbox.count("INBOX") == 0
