"""A week of one ticket, end to end on real Dovecot and the SMTP sink (the issue's "done when"):
two people on the customer's side, three rounds of questions, an SE's attachment, a hand-over,
a resolve and a reopen. At the end every mailbox holds exactly the mails a careful team would
have sent, each threaded, with no one dropped and no one added."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from gateway.clock import FakeClock
from gateway.config import Config
from gateway.sink import Received, SmtpSink
from gateway.store import Store
from tests.conftest import (
    MONDAY_10,
    answered_inline,
    customer_mail,
    eventually,
    relay_reply,
    running,
)
from tests.dovecot import Dovecot
from tests.harness import owed_astray, transaction
from tests.test_conversation import sc_forward, with_files
from tests.test_forwards import original_mail

pytestmark = pytest.mark.dovecot

JANE, ROSALIE = "jane@acme.example", "r.payne@acme.example"
SAM, DANA, CASEY = "sam@example.com", "dana@example.com", "casey@example.com"
NEW_YORK = ZoneInfo("America/New_York")
CUSTOMER_KINDS = {"ack", "reply", "eta", "revised-eta", "status-update"}


@pytest.fixture
def clock() -> FakeClock:
    """The story's week lies in the past whatever the day of the run: Dovecot files mail
    APPENDed with a future INTERNALDATE at its own present, which would tie the test to the
    wall clock. Monday 2 November 2026, 10:00 EST (DST ended the day before)."""
    return FakeClock(MONDAY_10 - timedelta(days=21))


def mailbox_of(sink: SmtpSink, person: str) -> list[Received]:
    """What reached ``person``'s mailbox: the envelope, as the relay delivered it."""
    return [m for m in sink.messages if person in m.rcpt]


async def test_a_week_long_ticket_among_several_people(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    processed = 0

    async def deliver(raw: bytes, new_mails: int) -> list[Received]:
        nonlocal processed
        before = len(sink.messages)
        mailbox.append(raw)
        processed += 1
        await eventually(lambda: mailbox.count("Processed") == processed)
        await sink.wait_for(before + new_mails)
        await asyncio.sleep(0.2)  # nothing more follows
        assert len(sink.messages) == before + new_mails, [
            m["X-Support-Kind"] for m in sink.messages[before:]
        ]
        return sink.messages[before:]

    def at(days: int, hour: int) -> None:
        local = clock.now().astimezone(NEW_YORK)
        clock.set(local.replace(hour=hour, minute=0) + timedelta(days=days))
        gw.poke()

    def one(mails: list[Received], kind: str) -> Received:
        [mail] = [m for m in mails if m["X-Support-Kind"] == kind]
        return mail

    async with running(config, clock) as gw:
        # Monday 10:00: Jane writes, her colleague Rosalie in CC.
        first = customer_mail(
            1,
            subject="Export fails with E42",
            body="Our nightly export fails with error E42 since this morning.\n\n"
            "Why does the export fail? Is version 4.2 affected?\n\nJane",
            headers={"Cc": f"Rosalie Ops <{ROSALIE}>"},
            date=clock.now().astimezone(NEW_YORK),
        )
        out = await deliver(first, 2)
        ack, copy = one(out, "ack"), one(out, "se-copy")

        # Monday 14:00: Sam answers both points inline, with a patch.
        at(0, 14)
        answer = answered_inline(
            copy,
            {
                "Why does the export fail?": "A bad index; the patch attached fixes it.",
                "Is version 4.2 affected?": "Yes: fixed in 4.2.1.",
            },
        )
        out = await deliver(
            with_files(relay_reply(copy, answer, "sam-1"), files={"fix.patch": b"--- a\n+++ b\n"}),
            2,
        )
        sams_reply = one(out, "reply")

        # Tuesday 09:00: Rosalie answers all, with a new question.
        at(1, 9)
        rosalie = customer_mail(
            "rp-1",
            sender=ROSALIE,
            name="Rosalie Ops",
            subject="Re: " + sams_reply["Subject"],
            in_reply_to=sams_reply["Message-ID"],
            body="Thanks Sam. Does the nightly import have the same problem?\n\nRosalie\n\n"
            "On Mon, Sam Engineer wrote:\n> Hello\n",
            headers={"Cc": f"{JANE}, {CASEY}"},
            date=clock.now().astimezone(NEW_YORK),
        )
        out = await deliver(rosalie, 2)
        rosalie_ack, rosalie_copy = one(out, "ack"), one(out, "se-copy")

        # Tuesday 11:00: Sam hands the ticket to Dana.
        at(0, 11)
        out = await deliver(relay_reply(rosalie_copy, "#assign Dana Default", "sam-2"), 2)
        handed = one(out, "se-copy")

        # Tuesday 15:00: Dana answers Rosalie.
        at(0, 15)
        out = await deliver(
            relay_reply(
                handed,
                "Hello Rosalie, the import is not affected: it uses another index.\n\nDana",
                "dana-1",
                DANA,
            ),
            2,
        )
        danas_reply = one(out, "reply")

        # Wednesday 10:00: Jane asks one more thing in the thread.
        at(1, 10)
        jane2 = customer_mail(
            2,
            subject="Re: " + danas_reply["Subject"],
            in_reply_to=danas_reply["Message-ID"],
            body="One more: can we run the export every hour?\n\nJane",
            headers={"Cc": f"{ROSALIE}, {CASEY}"},
            date=clock.now().astimezone(NEW_YORK),
        )
        out = await deliver(jane2, 2)
        jane2_copy = one(out, "se-copy")

        # Wednesday 15:00: Dana answers and resolves (the command under her text), before the
        # resolution target (Thursday 10:00).
        at(0, 15)
        out = await deliver(
            relay_reply(
                jane2_copy,
                "Hello Jane, yes: set export.interval = 1h.\n\nDana\n#resolved",
                "dana-2",
                DANA,
            ),
            3,
        )
        done = one(out, "done")

        # Friday 10:00: it broke again.
        at(2, 10)
        again = customer_mail(
            3,
            subject="Re: " + danas_reply["Subject"],
            in_reply_to=one(out, "reply")["Message-ID"],
            body="It broke again tonight: E42 is back. Can you look?\n\nJane",
            date=clock.now().astimezone(NEW_YORK),
        )
        out = await deliver(again, 2)
        reopened_ack = one(out, "ack")

    # -- what each person's mailbox holds ------------------------------------------------------
    to_customer = [m for m in sink.messages if m["X-Support-Kind"] in CUSTOMER_KINDS]
    assert [m["X-Support-Kind"] for m in to_customer] == [
        "ack",
        "reply",
        "ack",
        "reply",
        "ack",
        "reply",
        "ack",
    ]
    for person in (JANE, ROSALIE):
        assert mailbox_of(sink, person) == to_customer, f"{person}: all of them, nothing else"
    assert mailbox_of(sink, CASEY) == [
        m for m in sink.messages if m["X-Support-Kind"] in CUSTOMER_KINDS | {"se-copy", "done"}
    ]
    assert [m["X-Support-Kind"] for m in mailbox_of(sink, SAM)] == [
        "se-copy",
        "se-confirm",
        "se-copy",
        "se-confirm",
    ]
    assert [m["X-Support-Kind"] for m in mailbox_of(sink, DANA)] == [
        "se-copy",
        "se-confirm",
        "se-copy",
        "se-confirm",
        "se-copy",
    ]
    everyone = {JANE, ROSALIE, SAM, DANA, CASEY}
    for m in sink.messages:
        assert set(m.rcpt) <= everyone, f"no one added: {m.rcpt}"

    # -- each threaded, one subject, one token ---------------------------------------------------
    for m in to_customer:
        assert m["Subject"] == "Re: Export fails with E42 [SUP-1001]"
        assert m["In-Reply-To"], m["X-Support-Kind"]
        assert "<customer-1@acme.example>" in m["References"]
    assert (
        rosalie_ack["To"] == ROSALIE
        and rosalie_ack["In-Reply-To"] == "<customer-rp-1@acme.example>"
    )
    assert sams_reply["From"] == '"Sam Engineer (Example Support)" <support@example.com>'
    assert danas_reply["From"] == '"Dana Default (Example Support)" <support@example.com>'

    # -- what they say ---------------------------------------------------------------------------
    assert ack.text().startswith("Dear Jane,")
    patch = [
        p
        for p in message_from_bytes(sams_reply.raw, policy=policy.default).walk()
        if p.get_filename() == "fix.patch"
    ]
    assert len(patch) == 1 and patch[0].get_content() == b"--- a\n+++ b\n"
    assert "Does the nightly import have the same problem?" in rosalie_ack.text()
    story = handed.text()
    assert "Our nightly export fails with error E42" in story
    assert "A bad index; the patch attached fixes it." in story
    assert "Does the nightly import have the same problem?" in story
    assert "#resolved" not in to_customer[5].text()
    assert done["To"] == CASEY and "Answered by:" in done.text()
    assert "reopened ticket SUP-1001" in reopened_ack.text()
    assert reopened_ack["In-Reply-To"] == "<customer-3@acme.example>"

    store = Store(config.database.target)
    await store.start()
    try:
        async with transaction(store) as db:
            row = db.execute("SELECT count(*), max(state), max(se) FROM tickets").fetchone()
            astray = owed_astray(db)
            people = [
                r[0]
                for r in db.execute(
                    "SELECT address FROM participants ORDER BY ticket_id, rowid"
                ).fetchall()
            ]
    finally:
        await store.stop()
    assert tuple(row) == (1, "new", DANA), "one ticket, reopened, with Dana"
    assert astray == [], "what the ticket owes soonest is kept through its whole week"
    assert ", ".join(people) == f"{JANE}, {ROSALIE}"


async def test_a_forward_and_a_merge_stay_threaded_end_to_end(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    async with running(config, clock):
        # Casey forwards Jane's mail as an attachment: the ticket is Jane's, threaded to her mail.
        mailbox.append(sc_forward("Please help Jane, key account.", attach=original_mail()))
        await sink.wait_for(2)
        ack = next(m for m in sink.messages if m["X-Support-Kind"] == "ack")
        assert ack["To"] == JANE and ack["In-Reply-To"] == "<orig-1@acme.example>"
        # Jane writes about something related in a new thread: a second ticket.
        mailbox.append(customer_mail(2, body="Is the import affected too?", date=clock.now()))
        await sink.wait_for(4)
        copy = next(m for m in sink.messages if m["X-Support-Kind"] == "se-copy")
        second = [m for m in sink.messages if m["X-Support-Ticket"] == "SUP-1002"]
        second_ack = next(m for m in second if m["X-Support-Kind"] == "ack")
        # Sam merges the second into the first; Jane answers in the second's thread.
        mailbox.append(relay_reply(copy, "#merge SUP-1002", "sam-merge"))
        await sink.wait_for(6)
        mailbox.append(
            customer_mail(
                3,
                subject="Re: " + second_ack["Subject"],
                in_reply_to=second_ack["Message-ID"],
                body="Here is the import log.",
                date=clock.now(),
            )
        )
        await eventually(lambda: mailbox.count("Processed") == 4)
        await sink.wait_for(8)

    async with Store(config.database.target) as store, transaction(store) as db:
        assert owed_astray(db) == [], "what each ticket owes soonest is kept through a merge"
    notice = next(m for m in sink.messages if m["X-Support-Kind"] == "merge-notice")
    assert notice["To"] == JANE and notice["Subject"] == ack["Subject"]
    assert notice["In-Reply-To"] == "<orig-1@acme.example>"
    follow = [m for m in sink.messages if m["X-Support-Kind"] == "se-copy"][-1]
    assert follow["X-Support-Ticket"] == "SUP-1001"
    assert "Here is the import log." in follow.text()
    # The news is acknowledged on the surviving ticket, with the date that stands there.
    acks = [m for m in sink.messages if m["X-Support-Kind"] == "ack"]
    assert len(acks) == 3 and acks[-1]["X-Support-Ticket"] == "SUP-1001"
    assert "we have added it to ticket SUP-1001" in acks[-1].text()
