"""Processing, the revised-ETA scheduler and the sender, step by step on a fake clock (see
tests/harness.py): every assertion is about what a customer or an SE would receive."""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiosmtplib
import pytest

from gateway.core.config import Config
from gateway.daemon import drain as drain_module
from gateway.daemon import processor as processor_module
from gateway.daemon.ingest.smtp import SmtpIngress
from gateway.mail import conversation
from gateway.store import inbox, outbox
from gateway.store.db import Db
from tests.conftest import customer_mail
from tests.harness import Harness, figures_astray, owed_astray, storing, transaction


async def test_unanswered_ticket_gets_one_revised_eta_per_miss(h: Harness) -> None:
    await h.receive(customer_mail(1))
    assert len(h.to("jane@acme.example")) == 1
    await h.later(timedelta(hours=24, minutes=5, seconds=1))  # Tue 10:05: due 10:00 + grace
    for _ in range(3):
        await h.later(timedelta(minutes=1))
    revised = h.to("jane@acme.example")[1:]
    assert len(revised) == 1
    assert "will reply by Wednesday 25 November, 17:00 EST" in revised[0].text()
    # The revised date is missed too: a second revision, again exactly one.
    await h.later(timedelta(days=1, hours=7, minutes=10))  # Wed 17:16
    await h.later(timedelta(minutes=1))
    revised = h.to("jane@acme.example")[1:]
    assert len(revised) == 2
    assert "will reply by Friday 27 November, 17:00 EST" in revised[1].text()
    # Two missed reply dates (each with the customer's point that shared it).
    assert (
        await h.scalar(
            "SELECT count(*) FROM commitments WHERE missed_at IS NOT NULL AND kind != 'point'"
        )
        == 2
    )


async def test_an_engineer_reply_in_time_means_no_revision(h: Harness) -> None:
    await h.receive(customer_mail(1))
    ack = h.to("jane@acme.example")[0]
    h.clock.advance(timedelta(hours=3))
    reply = customer_mail(
        "sam-1",
        sender="sam@example.com",
        name="Sam Engineer",
        subject=ack["Subject"],
        body="Please try the new export option.",
        in_reply_to="<customer-1@acme.example>",
        headers={"Cc": "jane@acme.example"},  # an engineer's answer goes to the customer
    )
    await h.receive(reply)
    assert await h.scalar("SELECT action FROM inbox ORDER BY id DESC LIMIT 1") == "engineer-reply"
    assert await h.scalar("SELECT state FROM tickets") == "answered"
    await h.later(timedelta(days=5))
    kinds = [m["X-Support-Kind"] for m in h.sink.messages]
    assert "revised-eta" not in kinds, "no revised ETA for an answered ticket"
    assert kinds.count("ack") == 1 and kinds.count("se-copy") == 1


async def test_the_same_message_twice_is_acknowledged_once(h: Harness) -> None:
    await h.receive(customer_mail(1))
    await h.receive(customer_mail(1))
    assert len(h.to("jane@acme.example")) == 1
    assert await h.scalar("SELECT action FROM inbox ORDER BY id DESC LIMIT 1") == "duplicate"


async def test_mail_that_waited_is_acknowledged_with_a_date_still_ahead(h: Harness) -> None:
    now = h.clock.now()
    received = now - timedelta(days=3)  # Friday 10:00; the gateway was down all weekend
    async with transaction(h.store) as db:
        inbox.store_raw(
            db,
            customer_mail(1),
            received,
            now,
            source="test",
            keys=conversation.keys(customer_mail(1)),
        )
    await h.processor.process_pending()
    await h.sender.drain()
    ack = h.to("jane@acme.example")[0]
    assert "Thank you for your message of Friday 20 November, 10:00 EST" in ack.text()
    assert "sorry for the slow confirmation" in ack.text()
    assert "will answer your question by Tuesday 24 November, 17:00 EST" in ack.text()
    assert "Monday 23 November" not in ack.text(), "no talk of dates nobody was told"
    await h.later(timedelta(minutes=10))
    assert len(h.to("jane@acme.example")) == 1, "the date told at intake is not revised again"
    # The ledger: the policy's date (Monday) made and missed at once, superseded by the date
    # told; the ticket owes that one.
    rows = await h.store.run(
        lambda db: db.execute(
            "SELECT id, missed_at, revision_of, superseded_by, due_at FROM commitments"
            " WHERE kind = 'actionable' ORDER BY id"
        ).fetchall()
    )
    (missed, missed_at, first_of, first_by, _), (told, told_missed, of, by, due) = rows
    assert (missed_at is not None, first_of, first_by) == (True, None, told)
    assert (told_missed, of, by) == (None, missed, None)
    assert due.startswith("2026-11-24T22:00")  # Tuesday 17:00 EST
    assert await h.scalar("SELECT owed_at FROM tickets") == due
    async with transaction(h.store) as db:
        assert owed_astray(db) == [] and figures_astray(db) == []


async def test_hostile_mail_is_quarantined_and_the_next_one_still_processed(h: Harness) -> None:
    await h.receive(b"\r\n\r\n")
    await h.receive(customer_mail(2))
    assert await h.scalar("SELECT state FROM inbox WHERE id = 1") == "quarantined"
    assert await h.scalar("SELECT reason FROM inbox WHERE id = 1") == "empty message"
    assert len(h.to("jane@acme.example")) == 1


async def test_a_failure_late_in_one_journey_undoes_only_that_message(h: Harness) -> None:
    """A backlog is processed a few messages per transaction: a message failing after its
    ticket and dates were written is rolled back alone (its savepoint). The failure is ours (a
    template), not the message's: it is held for a retry, never quarantined on its first try,
    and the messages before and after it in the same transaction keep everything. Once the
    template is fixed, the retry acknowledges it."""
    build = h.processor.services.composer.build
    broken = True

    def failing(*args: Any, **kwargs: Any) -> Any:
        if broken and args[2].subject == "boom":
            raise RuntimeError("template exploded")
        return build(*args, **kwargs)

    h.processor.services.composer.build = failing  # type: ignore[method-assign]
    now = h.clock.now()
    async with transaction(h.store) as db:
        for n, sender, subject in ((1, "a@one.example", "first"), (2, "b@two.example", "boom"),
                                   (3, "c@three.example", "third")):  # fmt: skip
            raw = customer_mail(n, sender=sender, subject=subject)
            inbox.store_raw(db, raw, now, now, source="test", keys=conversation.keys(raw))
    assert await h.processor.process_pending() == 3
    await h.sender.drain()
    states = await h.joined("SELECT state FROM inbox ORDER BY id")
    assert states == "processed,new,processed"
    assert await h.scalar("SELECT attempts FROM inbox WHERE id = 2") == 1
    assert "RuntimeError: template exploded" in str(
        await h.scalar("SELECT last_error FROM inbox WHERE id = 2")
    )
    assert h.processor.held == 1
    assert await h.joined("SELECT customer_address FROM tickets ORDER BY id") == (
        "a@one.example,c@three.example"
    )
    assert (
        await h.scalar(
            "SELECT count(*) FROM commitments WHERE ticket_id NOT IN (SELECT id FROM tickets)"
        )
        == 0
    )
    assert len(h.to("a@one.example")) == 1 and len(h.to("c@three.example")) == 1
    assert h.to("b@two.example") == []

    assert await h.processor.process_pending() == 0, "held until its retry time"
    broken = False  # the operator fixes the template
    h.clock.advance(timedelta(seconds=h.processor.services.config.retry.initial_seconds))
    assert await h.processor.process_pending() == 1
    await h.sender.drain()
    assert await h.scalar("SELECT state FROM inbox WHERE id = 2") == "processed"
    assert len(h.to("b@two.example")) == 1, "acknowledged once the fault was fixed"
    assert h.processor.held == 0


async def test_our_fault_on_every_try_quarantines_after_the_configured_attempts(
    h: Harness,
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug in a step")

    h.processor.services.composer.build = failing  # type: ignore[method-assign]
    await h.receive(customer_mail(1))
    retry = h.processor.services.config.retry
    for attempt in range(1, retry.max_attempts):
        assert await h.scalar("SELECT state FROM inbox WHERE id = 1") == "new"
        assert await h.scalar("SELECT attempts FROM inbox WHERE id = 1") == attempt
        h.clock.advance(timedelta(seconds=retry.delay(attempt)))
        assert await h.processor.process_pending() == 1
    assert await h.scalar("SELECT state FROM inbox WHERE id = 1") == "quarantined"
    reason = str(await h.scalar("SELECT reason FROM inbox WHERE id = 1"))
    assert reason.startswith(f"gave up after {retry.max_attempts} attempts")
    assert "KeyError: 'a bug in a step'" in reason and "Traceback" in reason
    assert h.sink.messages == []


async def test_a_constraint_error_quarantines_that_message_and_the_next_goes_on(
    h: Harness,
) -> None:
    """An error the database will give the same way every time is not retried forever: that
    message is quarantined with the reason, and the inbox goes on."""
    import sqlite3

    from gateway.store import tickets

    create = tickets.create

    def clash(db: Any, msg: Any, *args: Any) -> Any:
        if msg.subject == "clash":
            raise sqlite3.IntegrityError("UNIQUE constraint failed: tickets.key")
        return create(db, msg, *args)

    tickets.create = clash  # type: ignore[assignment]
    try:
        await h.receive(customer_mail(1, subject="clash"))
        await h.receive(customer_mail(2, sender="b@two.example"))
    finally:
        tickets.create = create  # type: ignore[assignment]
    assert await h.scalar("SELECT state FROM inbox WHERE id = 1") == "quarantined"
    assert "IntegrityError" in str(await h.scalar("SELECT reason FROM inbox WHERE id = 1"))
    assert await h.scalar("SELECT state FROM inbox WHERE id = 2") == "processed"
    assert len(h.to("b@two.example")) == 1


@pytest.mark.parametrize("then_read", [False, True], ids=["found-at-the-end", "found-by-a-read"])
async def test_a_write_the_database_refuses_after_the_fact_is_that_messages_fault(
    h: Harness, monkeypatch: pytest.MonkeyPatch, then_read: bool
) -> None:
    """On PostgreSQL a message's writes go without waiting for each answer (pipeline mode), so
    the server may refuse one after the gateway has moved on. The refusal must still be found
    before the message's savepoint is released (by the next read, or else at the end of the
    message), and its rollback must run: that message is quarantined with the reason, and the
    next one is processed (neither blamed for it nor rolled back with it)."""
    record = inbox.record_decisions
    refusals: list[int] = []

    def refused_late(db: Db, inbox_id: int, decisions: list[tuple[str, str, str]]) -> None:
        if inbox_id == 1 and not refusals:  # a row the schema refuses; its answer is not read
            refusals.append(inbox_id)
            db.execute(
                "INSERT INTO decisions (inbox_id, step, verdict, reason) VALUES (?, ?, ?, ?)",
                (inbox_id, None, "x", "y"),
            )
            if then_read:
                db.execute("SELECT count(*) FROM decisions").fetchone()
        record(db, inbox_id, decisions)

    monkeypatch.setattr(inbox, "record_decisions", refused_late)
    await h.receive(customer_mail(1, subject="refused late"))
    await h.receive(customer_mail(2, sender="b@two.example"))
    assert await h.scalar("SELECT state FROM inbox WHERE id = 1") == "quarantined"
    reason = str(await h.scalar("SELECT reason FROM inbox WHERE id = 1"))
    assert "step" in reason and ("NotNull" in reason or "NOT NULL" in reason), reason
    assert await h.scalar("SELECT state FROM inbox WHERE id = 2") == "processed"
    assert len(h.to("b@two.example")) == 1
    # Its writes were rolled back with it: no ticket, nothing sent to its sender.
    jane = "SELECT count(*) FROM tickets WHERE customer_address = 'jane@acme.example'"
    assert await h.scalar(jane) == 0
    assert h.to("jane@acme.example") == []


async def test_a_backlog_is_processed_even_when_each_batch_starts_late(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose time is spent before its first message (its thread lost the CPU, or a
    task waits for the database) still takes one: an empty batch would read as "nothing left"
    and leave the backlog waiting for the next tick."""
    monkeypatch.setattr(processor_module, "BATCH_SECONDS", -1.0)
    monkeypatch.setattr(processor_module, "YIELD_AFTER", -1.0)
    h.store.waiting = 1  # as if the sender were waiting throughout
    now = h.clock.now()
    async with transaction(h.store) as db:
        for n in range(3):
            raw = customer_mail(n, sender=f"c{n}@acme.example", subject=f"case {n}")
            inbox.store_raw(db, raw, now, now, source="test", keys=conversation.keys(raw))
    assert await h.processor.process_pending() == 3
    h.store.waiting = 0
    await h.sender.drain()
    assert all(len(h.to(f"c{n}@acme.example")) == 1 for n in range(3))


async def test_a_batch_gives_way_when_the_sender_waits_for_the_database(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a backlog, a batch ends early once another task (the sender marking a mail sent)
    waits for the database: the waiting job runs after the first message, not after all."""
    monkeypatch.setattr(processor_module, "YIELD_AFTER", 0.0)
    build = h.processor.services.composer.build
    first_held, waiter_queued = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        first_held.set()
        waiter_queued.wait(10)  # runs in the job's thread: hold the first message here
        return build(*args, **kwargs)

    h.processor.services.composer.build = held  # type: ignore[method-assign]
    now = h.clock.now()
    async with transaction(h.store) as db:
        for n in range(5):
            raw = customer_mail(n, sender=f"c{n}@acme.example", subject=f"case {n}")
            inbox.store_raw(db, raw, now, now, source="test", keys=conversation.keys(raw))

    def processed_so_far(db: Db) -> int:
        row = db.execute("SELECT count(*) FROM tickets").fetchone()
        return int(row[0]) if row else 0

    processing = asyncio.create_task(h.processor.process_pending())
    assert await asyncio.to_thread(first_held.wait, 10)  # the batch holds the database
    waiter = asyncio.create_task(h.store.run(processed_so_far))
    await asyncio.sleep(0)  # the waiter runs up to the lock
    assert h.store.waiting == 1
    waiter_queued.set()
    assert await waiter == 1
    assert await processing == 5
    assert h.store.waiting == 0


async def test_the_sender_sends_on_while_the_database_is_busy_and_marks_every_mail_once(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mail's "sent" mark waits for the database (here the first mark's own transaction is
    slow); the mails sent with it in one run do not wait for it, but no more than UNMARKED_MAX go
    unmarked (what a crash would resend). Then every mail is marked sent, and none went twice."""
    now = h.clock.now()
    async with transaction(h.store) as db:
        for n in range(6):
            raw = customer_mail(n, sender=f"c{n}@acme.example", subject=f"case {n}")
            inbox.store_raw(db, raw, now, now, source="test", keys=conversation.keys(raw))
    assert await h.processor.process_pending() == 6  # 12 mails queued: 6 acks, 6 SE copies
    slow, free = threading.Event(), threading.Event()
    mark_sent = outbox.mark_sent

    def slow_mark(*args: Any, **kwargs: Any) -> None:
        if not slow.is_set():
            slow.set()
            free.wait(10)  # in the store's thread: the database stays held
        mark_sent(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", slow_mark)
    draining = asyncio.create_task(h.sender.drain())
    for _ in range(500):
        if len(h.sink.messages) >= drain_module.UNMARKED_MAX:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # the sender now waits for its marks
    assert len(h.sink.messages) == drain_module.UNMARKED_MAX and slow.is_set()
    free.set()
    assert await draining == 12
    ids = [m["Message-ID"] for m in h.sink.messages]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'sent'") == 12
    assert h.sender.sent == 12


async def test_a_page_of_due_mail_passes_over_what_is_not_due_and_stops_when_full(
    h: Harness,
) -> None:
    """The sender's page: queued rows in id order after the last page, those deferred (a 4xx,
    not yet due) and those sent passed over, no more than a page. On SQLite it walks an index
    of the queued rows in id order, with no sort: it sorted every queued row due, bytes and all,
    for each page of a backlog."""
    raws = [customer_mail(n, sender=f"c{n}@acme.example") for n in range(8)]
    await h.store.run(storing(raws, h.clock.now()))
    assert await h.processor.process_pending() == 8
    ids = [int(i) for i in (await h.joined("SELECT id FROM outbox ORDER BY id")).split(",")]
    assert len(ids) == 16
    later = h.clock.now() + timedelta(minutes=5)
    async with transaction(h.store) as db:
        db.execute(f"UPDATE outbox SET state = 'sent' WHERE id IN ({ids[0]}, {ids[1]})")
        db.execute(
            f"UPDATE outbox SET next_attempt_at = ? WHERE id IN ({ids[2]}, {ids[4]})",
            (later.isoformat(timespec="microseconds"),),
        )

    def pages(db: Db) -> list[list[int]]:
        now = h.clock.now()
        first = [r.id for r in outbox.due(db, now, limit=3)]
        return [first, [r.id for r in outbox.due(db, now, limit=3, after_id=first[-1])]]

    assert await h.store.run(pages) == [[ids[3], ids[5], ids[6]], ids[7:10]]
    if not h.store.postgres:
        sql = outbox._DUE.format(index=" INDEXED BY outbox_queued", when="next_attempt_at <= ?")
        plan = await h.store.run(
            lambda db: db.execute(f"EXPLAIN QUERY PLAN {sql}", (0, "", 3)).fetchall()
        )
        details = " / ".join(str(r[3]) for r in plan)
        assert "USING INDEX outbox_queued" in details and "TEMP B-TREE" not in details, details


async def test_relay_4xx_is_retried_with_the_same_message_id(h: Harness) -> None:
    h.sink.fail_with = "451 4.3.0 try later"
    await h.receive(customer_mail(1))
    assert h.sink.messages == []
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'queued'") == 2
    first_id = await h.scalar("SELECT message_id FROM outbox WHERE kind = 'ack'")
    h.sink.fail_with = ""
    await h.sender.drain()
    assert h.sink.messages == [], "not before the backoff has passed"
    h.clock.advance(timedelta(seconds=61))
    await h.sender.drain()
    assert len(h.sink.messages) == 2
    assert h.to("jane@acme.example")[0]["Message-ID"] == first_id


async def test_relay_5xx_dead_letters_with_the_reason(h: Harness) -> None:
    h.sink.refuse["jane@acme.example"] = "550 5.1.1 no such user"
    h.sink.refuse["casey@example.com"] = "550 5.1.1 no such user"
    await h.receive(customer_mail(1))
    reason = await h.scalar("SELECT last_error FROM outbox WHERE kind = 'ack'")
    assert await h.scalar("SELECT state FROM outbox WHERE kind = 'ack'") == "dead"
    assert "550" in str(reason) and "no such user" in str(reason)
    assert [m["To"] for m in h.sink.messages] == ["sam@example.com"]  # the SE copy went


async def test_relay_down_is_retried_not_lost(h: Harness) -> None:
    await h.sink.stop()
    await h.receive(customer_mail(1))
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'queued'") == 2
    assert "relay unreachable" in str(await h.scalar("SELECT last_error FROM outbox LIMIT 1"))
    await h.sink.start()
    h.clock.advance(timedelta(minutes=2))
    await h.sender.drain()
    assert len(h.sink.messages) == 2


async def test_a_fault_of_ours_while_sending_holds_the_mail_and_says_so(
    h: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not the relay's failure: no dead letter, no "relay" words; the traceback is logged, the
    sender shows degraded, and the mail goes once the fault is mended."""

    def broken(*args: object, **kwargs: object) -> object:
        raise TypeError("a bug of ours")

    monkeypatch.setattr(smtplib.SMTP, "sendmail", broken)
    await h.receive(customer_mail(1))
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'queued'") == 2
    error = str(await h.scalar("SELECT last_error FROM outbox WHERE kind = 'ack'"))
    assert error == "internal error sending: TypeError: a bug of ours"
    assert len(h.sender.held) == 2 and h.sender.last_result != "ok"
    logged = [r for r in caplog.records if "sender-internal-error" in r.getMessage()]
    assert len(logged) == 2  # one for each mail
    assert all(r.exc_info is not None and r.levelname == "ERROR" for r in logged)
    monkeypatch.undo()  # mended
    h.clock.advance(timedelta(hours=49))  # past give_up_hours: still not dead-lettered for it
    await h.sender.drain()
    assert len(h.sink.messages) == 2 and not h.sender.held
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'sent'") == 2


async def test_smtp_ingress_stores_before_answering(
    h: Harness, make_config: Callable[..., Config]
) -> None:
    config = make_config(ingress={"enabled": True, "protocol": "smtp", "port": 1})
    ingress = SmtpIngress(h.store, config.ingress.model_copy(update={"port": 0}), h.clock)
    await ingress.start()
    try:
        await aiosmtplib.send(
            customer_mail(9),
            sender="jane@acme.example",
            recipients=["support@example.com"],
            hostname="127.0.0.1",
            port=ingress.port,
        )
    finally:
        await ingress.stop()
    assert await h.scalar("SELECT count(*) FROM inbox WHERE source = 'smtp'") == 1
    await h.processor.process_pending()
    await h.sender.drain()
    assert len(h.to("jane@acme.example")) == 1


async def test_lmtp_ingress_answers_per_recipient_after_storing(
    h: Harness, make_config: Callable[..., Config]
) -> None:
    import asyncio
    import smtplib

    config = make_config(ingress={"enabled": True, "protocol": "lmtp", "port": 1})
    ingress = SmtpIngress(h.store, config.ingress.model_copy(update={"port": 0}), h.clock)
    await ingress.start()

    def deliver() -> dict[str, tuple[int, bytes]]:
        with smtplib.LMTP("127.0.0.1", ingress.port) as lmtp:
            return lmtp.sendmail("jane@acme.example", ["support@example.com"], customer_mail(3))

    try:
        refused = await asyncio.to_thread(deliver)
    finally:
        await ingress.stop()
    assert refused == {}
    assert await h.scalar("SELECT count(*) FROM inbox WHERE source = 'smtp'") == 1


async def test_lmtp_answers_once_per_accepted_recipient(
    h: Harness, make_config: Callable[..., Config]
) -> None:
    """RFC 2033 4.2: after the final dot, one reply per recipient that RCPT accepted. One reply
    for three recipients leaves the MTA waiting for the other two (it then times out and sends
    the mail again)."""
    import asyncio

    config = make_config(ingress={"enabled": True, "protocol": "lmtp", "port": 1})
    ingress = SmtpIngress(h.store, config.ingress.model_copy(update={"port": 0}), h.clock)
    await ingress.start()
    rcpts = ["support@example.com", "help@example.com", "SUPPORT@example.com"]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", ingress.port)

        async def command(line: str) -> str:
            writer.write(line.encode() + b"\r\n")
            return await reply()

        async def reply() -> str:
            lines = []
            while True:
                line = (await asyncio.wait_for(reader.readline(), 5)).decode()
                lines.append(line)
                if line[3:4] != "-":
                    return "".join(lines)

        assert (await reply()).startswith("220")
        assert (await command("LHLO client.example")).startswith("250")
        assert (await command("MAIL FROM:<jane@acme.example>")).startswith("250")
        for rcpt in rcpts:
            assert (await command(f"RCPT TO:<{rcpt}>")).startswith("250")
        assert (await command("DATA")).startswith("354")
        writer.write(customer_mail(4).replace(b"\n", b"\r\n") + b"\r\n.\r\n")
        replies = [await reply() for _ in rcpts]
        assert all(r.startswith("250 2.0.0") for r in replies), replies
        assert [r.split("<")[-1].split(">")[0] for r in replies] == rcpts
        assert (await command("QUIT")).startswith("221")
        writer.close()
        await writer.wait_closed()
    finally:
        await ingress.stop()
    assert await h.scalar("SELECT count(*) FROM inbox WHERE source = 'smtp'") == 1, "stored once"


async def test_the_ingress_takes_mail_only_from_its_mta_for_our_domains(
    h: Harness, make_config: Callable[..., Config]
) -> None:
    """Not an open door: a peer outside ingress.allow is refused at MAIL FROM (so whatever
    Authentication-Results it writes is never read), a recipient in someone else's domain at
    RCPT, and recipients past ingress.max_recipients are told to come again (452)."""
    import asyncio
    import smtplib

    def deliver(port: int, rcpts: list[str]) -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            return smtp.sendmail("jane@acme.example", rcpts, customer_mail(5))

    config = make_config(ingress={"enabled": True, "protocol": "smtp", "max_recipients": 3})
    only_v6 = config.ingress.model_copy(update={"port": 0, "allow": ["::1/128"]})
    ingress = SmtpIngress(h.store, only_v6, h.clock, domains=config.ingress_domains)
    await ingress.start()
    try:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await asyncio.to_thread(deliver, ingress.port, ["support@example.com"])
        assert refused.value.smtp_code == 554
    finally:
        await ingress.stop()

    ingress = SmtpIngress(
        h.store,
        config.ingress.model_copy(update={"port": 0}),
        h.clock,
        domains=config.ingress_domains,
    )
    await ingress.start()
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as foreign:
            await asyncio.to_thread(deliver, ingress.port, ["victim@elsewhere.example"])
        assert foreign.value.recipients["victim@elsewhere.example"][0] == 550
        many = [f"support+{n}@example.com" for n in range(5)]
        over = await asyncio.to_thread(deliver, ingress.port, many)
        assert {r: code for r, (code, _) in over.items()} == {
            many[3]: 452,
            many[4]: 452,
        }, "three taken, the rest told to come again"
    finally:
        await ingress.stop()
    assert await h.scalar("SELECT count(*) FROM inbox WHERE source = 'smtp'") == 1, (
        "only the mail for our own addresses, once"
    )


def test_the_demo_tells_the_whole_story() -> None:
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "gateway", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for line in (
        "Jane (Acme, writing from UTC+01:00) emails support@example.com",
        "The gateway acknowledges at once",
        "Sam Engineer will answer your question by Tuesday 24 November",
        "The account's SE gets the thread, with the SC in CC",
        # One clock: the story's times, the mails' dates and the revision agree.
        "[Monday 23 November, 10:15 EST] Jane (Acme, writing from UTC+01:00) emails",
        "[Monday 23 November, 10:15 EST] The gateway acknowledges at once",
        "by Tuesday 24 November, 10:15 EST (16:15 your time, UTC+01:00)",
        "[Tuesday 24 November, 10:00 EST] The reply date (Tuesday 24 November, 10:15 EST) would"
        " pass unmet in 15 minutes: the customer hears from us before chasing",
        "and we will not manage that",
        "will reply by Wednesday 25 November, 17:00 EST",
        "[Tuesday 24 November, 08:15 EST] 2 business hours before the date, the SE is warned",
        "Done: 5 mails sent; 1 acknowledgement, 1 SE copy, 1 warning, 1 revised ETA, 1 alert;",
        "Casey (the SC) had her accounts' digest at the start of her day",
        "Due today (1):",
    ):
        assert line in out, out


async def test_nothing_we_send_is_refused_for_its_form(h: Harness) -> None:
    """A 50,000-character subject without a space and a 2 MB References header: every mail we
    send still fits SMTP (lines of at most 998 octets) and reaches the relay."""
    ids = b" ".join(b"<ref-%d-%s@acme.example>" % (n, b"r" * 40) for n in range(32000))
    assert len(ids) > 2_000_000
    raw = (
        b"From: Jane Customer <jane@acme.example>\r\nTo: support@example.com\r\n"
        b"Subject: " + b"x" * 50_000 + b"\r\n"
        b"Message-ID: <long-1@acme.example>\r\nReferences: " + ids + b"\r\n"
        b"\r\nWhy does the export fail?\r\n"
    )
    await h.receive(raw)
    kinds = sorted(m["X-Support-Kind"] for m in h.sink.messages)
    assert kinds == ["ack", "se-copy"], "both reached the relay"
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state != 'sent'") == 0
    for m in h.sink.messages:
        head = m.raw.split(b"\r\n\r\n", 1)[0]
        assert max(len(line) for line in head.split(b"\r\n")) <= 998
        assert len(m["Subject"]) < 400 and "\u2026" in m["Subject"]
        assert len(m["References"]) < 6000
    ack = next(m for m in h.sink.messages if m["X-Support-Kind"] == "ack")
    assert ack["In-Reply-To"] == "<long-1@acme.example>"


async def test_a_dead_letter_to_the_customer_alerts_the_se_and_sc_once(h: Harness) -> None:
    h.sink.fail_with = "554 5.6.0 Message refused for good"
    await h.receive(customer_mail(1))
    assert await h.joined("SELECT state FROM outbox ORDER BY id") == "dead,dead"
    h.sink.fail_with = ""
    await h.later(timedelta(minutes=1))
    await h.later(timedelta(minutes=1))
    alerts = [m for m in h.sink.messages if m["X-Support-Kind"] == "dead-letter-alert"]
    assert len(alerts) == 1, "once, and only for the customer's mail (not the SE copy)"
    [alert] = alerts
    assert (alert["To"], alert["Cc"]) == ("sam@example.com", "casey@example.com")
    assert "Jane Customer did not get the acknowledgement on SUP-1001" in alert.text()
    assert "554 5.6.0 Message refused for good" in alert.text()
    assert h.to("jane@acme.example") == []
