"""A week of one ticket, end to end on real Dovecot and the SMTP sink (the issue's "done when"):
two people on the customer's side, three rounds of questions, an SE's attachment, a hand-over,
a resolve and a reopen; and a hard week of an urgent outage, read truly (a holding reply, news,
a bottom-posted and an Outlook-style answer, a complaint). At the end every mailbox holds exactly
the mails a careful team would have sent, each threaded, with no one dropped and no one added."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.daemon.app import Gateway
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
from tests.harness import figures_astray, owed_astray, transaction
from tests.test_conversation import sc_forward, with_files
from tests.test_forwards import original_mail

pytestmark = pytest.mark.dovecot

JANE, ROSALIE = "jane@acme.example", "r.payne@acme.example"
SAM, DANA, CASEY = "sam@example.com", "dana@example.com", "casey@example.com"
NEW_YORK = ZoneInfo("America/New_York")
CUSTOMER_KINDS = {"ack", "reply", "eta", "revised-eta", "status-update"}
# These stories count every mail a ticket's people get, step by step: the mail that goes on a
# calendar (the SC's daily digest, the account's Friday report) is told by test_account_side.
CALENDAR_OFF = {"sc_digest": False, "customer_every_weeks": 0}


@pytest.fixture
def clock() -> FakeClock:
    """The story's week lies in the past whatever the day of the run: Dovecot files mail
    APPENDed with a future INTERNALDATE at its own present, which would tie the test to the
    wall clock. Monday 2 November 2026, 10:00 EST (DST ended the day before)."""
    return FakeClock(MONDAY_10 - timedelta(days=21))


def mailbox_of(sink: SmtpSink, person: str) -> list[Received]:
    """What reached ``person``'s mailbox: the envelope, as the relay delivered it."""
    return [m for m in sink.messages if person in m.rcpt]


class Story:
    """A story told to the running daemon: mail delivered to Dovecot one at a time, each step
    checked to send exactly the mails it should, on the story's clock."""

    def __init__(self, mailbox: Dovecot, sink: SmtpSink, clock: FakeClock) -> None:
        self.mailbox, self.sink, self.clock = mailbox, sink, clock
        self.processed = 0
        self.gw: Gateway | None = None

    async def deliver(self, raw: bytes, new_mails: int) -> list[Received]:
        sink = self.sink
        before = len(sink.messages)
        self.mailbox.append(raw)
        self.processed += 1
        await eventually(lambda: self.mailbox.count("Processed") == self.processed)
        await sink.wait_for(before + new_mails)
        await asyncio.sleep(0.2)  # nothing more follows
        assert len(sink.messages) == before + new_mails, [
            m["X-Support-Kind"] for m in sink.messages[before:]
        ]
        return sink.messages[before:]

    def at(self, days: int, hour: int, minute: int = 0) -> None:
        local = self.clock.now().astimezone(NEW_YORK)
        self.clock.set(local.replace(hour=hour, minute=minute) + timedelta(days=days))
        assert self.gw is not None
        self.gw.poke()

    async def tick(self, days: int, hour: int, minute: int, new_mails: int) -> list[Received]:
        """The clock moved on: exactly ``new_mails`` from the scheduler, nothing more."""
        before = len(self.sink.messages)
        self.at(days, hour, minute)
        await self.sink.wait_for(before + new_mails)
        await asyncio.sleep(0.3)
        assert len(self.sink.messages) == before + new_mails
        return self.sink.messages[before:]

    def now(self) -> datetime:
        return self.clock.now().astimezone(NEW_YORK)


def one(mails: list[Received], kind: str) -> Received:
    [mail] = [m for m in mails if m["X-Support-Kind"] == kind]
    return mail


async def test_a_week_long_ticket_among_several_people(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox, reports=CALENDAR_OFF)
    story = Story(mailbox, sink, clock)
    deliver, at = story.deliver, story.at

    async with running(config, clock) as story.gw:
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
            astray = owed_astray(db) + figures_astray(db)
            people = [
                r[0]
                for r in db.execute(
                    "SELECT address FROM participants ORDER BY ticket_id, rowid"
                ).fetchall()
            ]
    finally:
        await store.stop()
    assert tuple(row) == (1, "new", DANA), "one ticket, reopened, with Dana"
    assert astray == [], "what the ticket owes soonest and its record are kept all week"
    assert ", ".join(people) == f"{JANE}, {ROSALIE}"


async def test_a_forward_and_a_merge_stay_threaded_end_to_end(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox, reports=CALENDAR_OFF)
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
        assert figures_astray(db) == [], "and its promise-record figures"
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


INTERNAL = ("Routed", "Promised", "Reply above this line", "At risk", "Urgent:", "Capacity")


async def test_a_hard_week_read_truly(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    """An urgent outage, a holding reply, news from the customer, a bottom-posted answer, a
    complaint and an Outlook-style answer: each read as a person would, nothing internal out."""
    config = make_config(mailbox, reports=CALENDAR_OFF)
    story = Story(mailbox, sink, clock)
    deliver, at = story.deliver, story.at
    async with running(config, clock) as story.gw:
        # Monday 10:00: production is down.
        first = customer_mail(
            1,
            subject="URGENT: production is down",
            body="None of our users can log in since 9am. Why does the login fail?\n\nJane",
            date=story.now(),
        )
        out = await deliver(first, 2)
        ack, copy = one(out, "ack"), one(out, "se-copy")
        assert copy["Subject"].startswith("[SUP-1001] Urgent new:")

        # 10:30: Sam holds: no answer yet, so nothing is met and he is asked for a date.
        at(0, 10, 30)
        dates = (
            "SELECT kind, due_at FROM commitments WHERE met_at IS NULL AND superseded_by IS NULL"
        )
        before = await read(config, dates)
        out = await deliver(
            relay_reply(copy, "Hi Jane,\n\nWe are looking into it right now.\n\nSam", "sam-1"), 2
        )
        holding, confirm = one(out, "reply"), one(out, "se-confirm")
        assert "looking into it" in holding.text()
        assert "holding reply" in confirm.text() and "#eta" in confirm.text()
        assert await read(config, dates) == before, "every date stands"

        # 11:00: Jane tells us what she tried (no question): acknowledged, the date stands.
        at(0, 11)
        news = customer_mail(
            2,
            subject="Re: " + holding["Subject"],
            in_reply_to=holding["Message-ID"],
            body="We restarted the login servers, but it still fails with error E17.\n\nJane",
            date=story.now(),
        )
        out = await deliver(news, 2)
        news_ack, news_copy = one(out, "ack"), one(out, "se-copy")
        assert "we have added it to ticket SUP-1001" in news_ack.text()

        # 12:00: an hour of silence on an urgent ticket: the customer hears where it stands.
        update = one(await story.tick(0, 12, 0, 1), "status-update")
        assert update["To"] == JANE

        # 12:15: Sam answers bottom-posted, under the quoted copy.
        at(0, 12, 15)
        quoted = "\n".join("> " + line for line in news_copy.text().splitlines())
        out = await deliver(
            relay_reply(
                news_copy,
                f"On Mon, Support wrote:\n{quoted}\n\nE17 is an expired certificate: renew it"
                " with sgw cert renew and log in again.\n\nSam\n",
                "sam-2",
            ),
            2,
        )
        answer = one(out, "reply")
        assert answer.text().startswith("E17 is an expired certificate")
        assert "answered" in one(out, "se-confirm").text()

        # Tuesday 08:30: still urgent and not resolved: the morning's update.
        morning = one(await story.tick(1, 8, 30, 1), "status-update")
        assert "it is in progress with Sam Engineer" in morning.text()
        assert "Our target for a resolution remains" in morning.text()

        # 09:00: Jane complains: at risk, the SC and the lead told, the worry heard.
        at(0, 9)
        complaint = customer_mail(
            3,
            subject="Re: " + answer["Subject"],
            in_reply_to=answer["Message-ID"],
            body="It works again, but we are very disappointed: production was down for hours,"
            " and frankly worried about our future with your company. Will this happen again?"
            "\n\nJane",
            date=story.now(),
        )
        out = await deliver(complaint, 3)
        complaint_ack, risky = one(out, "ack"), one(out, "se-copy")
        alert = one(out, "note")
        assert risky["Subject"].startswith("[SUP-1001] At risk:")
        assert "very disappointed" in risky.text()
        assert CASEY in alert["To"] and "At risk" in alert["Subject"]
        assert "we take your concern seriously" in complaint_ack.text()

        # 09:45: Sam answers Outlook-style: his words above the whole copy, unquoted.
        at(0, 9, 45)
        outlook = (
            "Jane, it will not: 4.2.1 renews the certificate itself. I am sorry for the"
            " outage.\n\nSam\n\nFrom: Example Support <support@example.com>\n"
            "Sent: Tuesday, November 3, 2026 9:00 AM\nTo: Sam Engineer <sam@example.com>\n"
            f"Subject: {risky['Subject']}\n\n{risky.text()}"
        )
        out = await deliver(relay_reply(risky, outlook, "sam-3"), 2)
        last = one(out, "reply")

    # -- what the customer read ------------------------------------------------------------------
    to_customer = [m for m in sink.messages if m["X-Support-Kind"] in CUSTOMER_KINDS]
    assert [m["X-Support-Kind"] for m in to_customer] == [
        "ack", "reply", "ack", "status-update", "reply", "status-update", "ack", "reply"
    ]  # fmt: skip
    assert mailbox_of(sink, JANE) == to_customer
    for m in to_customer:
        for word in INTERNAL:
            assert word not in m.text() and word not in m.html(), (m["X-Support-Kind"], word)
    assert last.text().startswith("Jane, it will not: 4.2.1 renews the certificate itself.")
    assert "From: Example Support" not in last.text() and "disappointed" not in last.text()
    assert ack["Subject"] == last["Subject"] == "Re: URGENT: production is down [SUP-1001]"
    # -- what the record says --------------------------------------------------------------------
    [(priority, at_risk)] = await read(config, "SELECT priority, at_risk FROM tickets")
    assert priority == "urgent" and at_risk
    open_points = await read(
        config,
        "SELECT point FROM commitments WHERE kind = 'point' AND met_at IS NULL"
        " AND superseded_by IS NULL",
    )
    assert open_points == [], "both questions answered, each by an answer"


async def read(config: Config, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` from the story's database, read while (or after) the daemon runs."""
    async with Store(config.database.target) as store, transaction(store) as db:
        return [tuple(r) for r in db.execute(sql).fetchall()]
