"""Loop safety and hostile input: a corpus of what real systems send, bounces, out-of-office
replies, caps, two gateways facing each other, quarantine, and fuzzing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli.explain import explain
from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.daemon.processor import Processor
from gateway.mail import conversation
from gateway.mail.inbound import parse
from gateway.pipeline.work import Services
from gateway.store import Store, inbox
from tests.conftest import ENGINES, MONDAY_10, customer_mail, database_toml, relay_reply
from tests.harness import Harness, storing, transaction
from tests.postgres import Postgres

CORPUS = Path(__file__).parent / "data" / "corpus"
EXPECTED = {
    "auto-rfc3834-vacation.eml": ("auto-reply", "suppress", "Auto-Submitted: auto-replied"),
    "auto-exchange-oof.eml": ("auto-reply", "suppress", "Auto-Submitted: auto-generated"),
    "auto-vendor-x-autoreply.eml": ("auto-reply", "suppress", "x-autoreply header present"),
    "bounce-rfc3464-postfix.eml": ("bounce", "suppress", "RFC 3464"),
    "bounce-exim-failed-recipients.eml": ("bounce", "suppress", "X-Failed-Recipients"),
    "bounce-qmail-failure-notice.eml": ("bounce", "suppress", "bounce subject 'failure notice'"),
    "bounce-yahoo-failure-notice.eml": ("bounce", "suppress", "bounce subject 'Failure Notice'"),
    "bounce-exchange-undeliverable.eml": ("bounce", "suppress", "bounce subject 'Undeliverable:"),
    "bounce-sendmail-fatal-errors.eml": ("bounce", "suppress", "bounce subject 'Returned mail"),
    "receipt-rfc8098-mdn.eml": ("receipt", "suppress", "RFC 8098"),
    "list-mailman.eml": ("list", "suppress", "Precedence: list"),
    "bulk-newsletter.eml": ("list", "suppress", "Precedence: bulk"),
    "automated-noreply.eml": ("automated", "suppress", "no-reply style sender"),
    "own-x-loop.eml": ("own", "suppress", "X-Loop names us"),
    "human-thunderbird-plain.eml": ("human", "acknowledge", ""),
    "human-outlook-html-only.eml": ("human", "acknowledge", ""),
    "human-apple-attachment-latin1.eml": ("human", "acknowledge", ""),
    "human-no-message-id.eml": ("human", "acknowledge", ""),
    "human-gmail-reply-to-ack.eml": ("human", "acknowledge", ""),
    "automated-arf-abuse-report.eml": ("automated", "suppress", "feedback report, RFC 5965"),
    "auto-exchange-inbox-rule-only.eml": (
        "auto-reply",
        "suppress",
        "x-ms-exchange-inbox-rules-loop header present",
    ),
    "auto-cpanel-autorespond.eml": ("auto-reply", "suppress", "x-autorespond header present"),
    "auto-subject-only-german.eml": ("auto-reply", "suppress", "Automatische Antwort"),
    "spam-spamassassin-flag.eml": ("spam", "spam", "X-Spam-Flag: YES"),
    "spam-microsoft-scl.eml": ("spam", "spam", "spam confidence level 9"),
    # DR, RN, NRN decline delivery and read reports only: a person wrote this, answer it.
    "human-outlook-suppress-reports.eml": ("human", "acknowledge", ""),
}


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_corpus_classification(name: str, make_config: Callable[..., Config]) -> None:
    klass, action, reason = EXPECTED[name]
    report = await explain(make_config(), (CORPUS / name).read_bytes(), MONDAY_10)
    assert (report["classification"], report["action"]) == (klass, action), report["reasons"]
    assert reason in report["reason"]
    if action in ("suppress", "spam"):
        assert report["outbound"] == []
    else:
        assert report["outbound"][0]["kind"] == "ack"


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


def dsn_for(message_id: str, failed: str) -> bytes:
    text = (CORPUS / "bounce-rfc3464-postfix.eml").read_bytes()
    return text.replace(
        b"<SUP-1001.ack.0123456789abcdef0123@example.com>", message_id.encode()
    ).replace(b"gone@acme.example", failed.encode())


async def test_a_bounce_of_our_mail_stops_mail_to_that_address_and_tells_the_sc(
    h: Harness,
) -> None:
    await h.receive(customer_mail(1))
    ack = kind(h, "ack")[0]
    await h.receive(dsn_for(ack["Message-ID"], "jane@acme.example"))
    assert await h.scalar("SELECT action FROM inbox WHERE id = 2") == "attach"
    [alert] = kind(h, "bounce-alert")
    assert (alert["To"], alert["Cc"]) == ("casey@example.com", "sam@example.com")
    assert "jane@acme.example" in alert.text() and "550 5.1.1 User unknown" in alert.text()
    # The reply date passes: the revised date is not sent to the dead address.
    await h.later(timedelta(hours=24, minutes=10))
    revised = kind(h, "revised-eta")
    assert revised == []
    assert await h.scalar("SELECT state FROM outbox WHERE kind = 'revised-eta'") == "dead"
    reason = str(await h.scalar("SELECT last_error FROM outbox WHERE kind = 'revised-eta'"))
    assert "undeliverable" in reason


def forged_bounce(names_message_id: str, failed: list[str]) -> bytes:
    """An outsider's "bounce": a mailer-daemon From, X-Failed-Recipients naming whoever they
    like, a body naming a Message-ID (the one their own mail opened a ticket with)."""
    return (
        "From: MAILER-DAEMON@evil.example\r\nTo: support@example.com\r\n"
        "Subject: Mail delivery failed: returning message to sender\r\n"
        "Message-ID: <forged-bounce@evil.example>\r\n"
        "Date: Mon, 23 Nov 2026 10:05:00 -0500\r\n"
        f"X-Failed-Recipients: {', '.join(failed)}\r\n\r\n"
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its recipients.\r\n"
        + "".join(f"  {a}\r\n    mailbox unavailable\r\n" for a in failed)
        + "\r\n------ This is a copy of the message ------\r\n\r\n"
        + f"Message-ID: {names_message_id}\r\n"
    ).encode()


async def test_a_forged_bounce_silences_nobody(h: Harness) -> None:
    await h.receive(customer_mail(1, sender="eve@evil.example"))
    victims = ["sam@example.com", "casey@example.com", "support@example.com", "jane@acme.example"]
    await h.receive(forged_bounce("<customer-1@evil.example>", victims))
    assert await h.scalar("SELECT count(*) FROM undeliverable") == 0
    assert kind(h, "bounce-alert") == []
    why = str(await h.scalar("SELECT reason FROM inbox WHERE id = 2"))
    assert "bounce" in why
    # The next customer is answered and Sam gets the copy, as if nothing had happened.
    await h.receive(customer_mail(2))
    assert [m["To"] for m in kind(h, "ack")][-1] == "jane@acme.example"
    assert await h.scalar("SELECT count(*) FROM outbox WHERE state = 'dead'") == 0


async def test_a_bounce_of_our_mail_blocks_only_its_own_recipients(h: Harness) -> None:
    await h.receive(customer_mail(1))
    ack = kind(h, "ack")[0]  # to jane, Casey (the SC) in CC
    # It names our real acknowledgement, and people it did not go to, and our own SE.
    await h.receive(
        forged_bounce(
            ack["Message-ID"], ["jane@acme.example", "bob@other.example", "sam@example.com"]
        )
    )
    assert await h.joined("SELECT address FROM undeliverable") == "jane@acme.example"
    [alert] = kind(h, "bounce-alert")
    assert "jane@acme.example" in alert.text() and "bob@other.example" not in alert.text()


async def test_a_block_shows_in_status_and_metrics_and_a_lead_can_lift_it(h: Harness) -> None:
    from gateway.cli import status
    from gateway.daemon.metrics import _gauges
    from gateway.store import outbox
    from gateway.store.db import read_once

    await h.receive(customer_mail(1))
    ack = kind(h, "ack")[0]
    await h.receive(dsn_for(ack["Message-ID"], "jane@acme.example"))
    target = h.store.path
    shown = status.collect(target, h.clock.now())
    assert [(b["address"], b["ticket"]) for b in shown["blocked"]] == [
        ("jane@acme.example", "SUP-1001")
    ]
    assert "blocked:      1 address(es)" in status.render(shown)
    assert "jane@acme.example until" in status.render(shown)
    assert read_once(target, lambda db: _gauges(db, h.clock.now())).blocked == 1
    # Jane says her mailbox works again; the lead lifts the block (the web view's action).
    assert await h.store.run(lambda db: outbox.lift_block(db, "Jane@Acme.example"))
    await h.receive(customer_mail(2, body="Is there any news on the export? Thanks"))
    assert kind(h, "ack")[-1]["To"] == "jane@acme.example", "mail goes to her again"
    assert status.collect(target, h.clock.now())["blocked"] == []


async def test_out_of_office_from_the_customer_becomes_a_note_for_the_se(h: Harness) -> None:
    await h.receive(customer_mail(1))
    ack = kind(h, "ack")[0]
    ooo = customer_mail(
        "ooo",
        subject="Out of office",
        body="Back on Monday.",
        in_reply_to=ack["Message-ID"],
        headers={"Auto-Submitted": "auto-replied"},
    )
    await h.receive(ooo)
    [note] = kind(h, "note")
    assert note["To"] == "sam@example.com" and "Back on Monday." in note.text()
    assert len(kind(h, "ack")) == 1
    # An engineer's own out-of-office answering that note is not attached again (no loop).
    staff_ooo = customer_mail(
        "sam-ooo",
        sender="sam@example.com",
        subject="Out of office",
        in_reply_to=note["Message-ID"],
        headers={"Auto-Submitted": "auto-replied"},
    )
    await h.receive(staff_ooo)
    assert len(kind(h, "note")) == 1
    assert await h.scalar("SELECT action FROM inbox ORDER BY id DESC LIMIT 1") == "suppress"


async def test_a_participants_robot_never_writes_to_another_participant(h: Harness) -> None:
    await h.receive(customer_mail(1, headers={"Cc": "Rosalie Ops <r.payne@acme.example>"}))
    ack = kind(h, "ack")[0]
    assert ack["Cc"] == "r.payne@acme.example, casey@example.com"
    # Rosalie's out-of-office answers our acknowledgement, with everyone in CC (reply all).
    ooo = customer_mail(
        "ooo",
        sender="r.payne@acme.example",
        name="Rosalie Ops",
        subject="Automatic reply: Problem number 1 [SUP-1001]",
        body="I am away until 7 December.",
        in_reply_to=ack["Message-ID"],
        headers={"Auto-Submitted": "auto-replied", "Cc": "jane@acme.example, casey@example.com"},
    )
    await h.receive(ooo)
    after = h.sink.messages[2:]
    assert [m["X-Support-Kind"] for m in after] == ["note"], "a note for the SE, nothing else"
    assert after[0]["To"] == "sam@example.com" and "away until 7 December" in after[0].text()
    assert "Automatic reply from r.payne@acme.example" in after[0]["Subject"]


async def test_the_caps_hold_for_every_participant(h: Harness) -> None:
    # Jane asks something new five times in an hour, Rosalie in CC: no address of theirs gets
    # more than the hourly cap of automatic mail; the SE sees every mail.
    await h.receive(customer_mail(1, headers={"Cc": "r.payne@acme.example"}, body="Why E42?"))
    for n in range(5):
        h.clock.advance(timedelta(minutes=5))
        await h.receive(
            customer_mail(
                f"f{n}",
                subject="Re: Problem number 1 [SUP-1001]",
                in_reply_to="<customer-1@acme.example>",
                body=f"And question number {n}, does it fail too?",
            )
        )
    for person in ("jane@acme.example", "r.payne@acme.example"):
        automatic = [m for m in kind(h, "ack") if person in f"{m['To']}, {m['Cc']}"]
        assert len(automatic) == 3, person
    assert len(kind(h, "se-copy")) == 6


async def test_a_responder_that_hides_that_it_is_one_is_capped(h: Harness) -> None:
    # A broken responder answers every mail with a fresh, unmarked mail: new "tickets" each time.
    for n in range(6):
        await h.receive(customer_mail(f"bot-{n}", sender="bot@broken.example"))
        h.clock.advance(timedelta(minutes=5))
    assert len([m for m in kind(h, "ack") if m["To"] == "bot@broken.example"]) == 3
    assert len(kind(h, "se-copy")) == 6  # the team still sees every mail: nothing is dropped
    h.clock.advance(timedelta(hours=1))
    await h.receive(customer_mail("bot-later", sender="bot@broken.example"))
    assert len(kind(h, "ack")) == 4


async def test_two_gateways_facing_each_other_exchange_at_most_one_automatic_mail(
    make_config: Callable[..., Config], clock: FakeClock, tmp_path: Path, sink: object
) -> None:
    from tests.conftest import merge

    def gateway(name: str) -> tuple[Store, Processor, Services]:
        config = make_config(
            support={"address": f"support@{name}.example"},
            database={"path": str(tmp_path / f"{name}.db")},
        )
        store = Store(config.database.target)
        services = Services.build(config, clock)
        return store, Processor(store, services), services

    a, b = gateway("a"), gateway("b")
    for store, _, _ in (a, b):
        await store.start()
    assert merge  # (the helper is shared with conftest)

    async def deliver(to: tuple[Store, Processor, Services], raw: bytes) -> list[bytes]:
        store, processor, _ = to
        async with transaction(store) as db:
            before = db.execute("SELECT max(id) FROM outbox").fetchone()[0] or 0
            inbox.store_raw(
                db, raw, clock.now(), clock.now(), source="test", keys=conversation.keys(raw)
            )
        await processor.process_pending()
        async with transaction(store) as db:
            rows = db.execute(
                "SELECT raw, rcpt FROM outbox JOIN outbox_raw ON outbox_id = id WHERE id > ?",
                (before,),
            ).fetchall()
        return [bytes(r[0]) for r in rows if "support@" in r[1]]

    first = customer_mail(1, sender="support@b.example", name="B's operator")
    exchanged, to_a = 0, [first]
    for _ in range(10):
        to_b = [out for raw in to_a for out in await deliver(a, raw)]
        to_a = [out for raw in to_b for out in await deliver(b, raw)]
        exchanged += len(to_b) + len(to_a)
        if not to_a and not to_b:
            break
    assert exchanged == 1  # A acknowledges B's human mail once; B never answers the robot
    for store, _, _ in (a, b):
        await store.stop()


async def test_oversized_and_broken_mail_is_quarantined_and_the_operator_can_act(
    h: Harness, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(safety={"max_message_bytes": 2048})
    h.processor.services.config = config
    await h.receive(customer_mail("big", body="x" * 5000))
    await h.receive(b"\x00\xff\x00")
    await h.receive(customer_mail("fine"))
    assert await h.joined("SELECT state FROM inbox ORDER BY id") == (
        "quarantined,quarantined,processed"
    )
    await h.store.stop()
    toml = tmp_path / "q.toml"
    toml.write_text(
        f"[imap]\nenabled = false\n{database_toml(config)}"
        '[routing]\ndefault_se = "dana@example.com"\n[[people]]\nname = "Dana"\n'
        'address = "dana@example.com"\nrole = "se"\n'
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", "quarantine", "--config", str(toml), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    listing = await asyncio.to_thread(cli, "list")
    assert listing.returncode == 0 and "over the 2048-byte limit" in listing.stdout
    shown = await asyncio.to_thread(cli, "show", "1")
    assert "Subject: 'Problem number big'" in shown.stdout
    assert (await asyncio.to_thread(cli, "release", "2")).returncode == 0
    assert (await asyncio.to_thread(cli, "retry", "1")).returncode == 0
    assert (await asyncio.to_thread(cli, "retry", "3")).returncode == 1  # not in quarantine
    await h.store.start()
    assert await h.joined("SELECT state FROM inbox ORDER BY id") == "new,processed,processed"
    h.processor.services.config = config.model_copy(
        update={"safety": config.safety.model_copy(update={"max_message_bytes": 10**6})}
    )
    await h.processor.process_pending()
    assert await h.scalar("SELECT action FROM inbox WHERE id = 1") == "acknowledge"


async def test_hostile_headers_never_make_headers(h: Harness) -> None:
    raw = (
        b"From: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40evil=2Eexample?= <eve@acme.example>\r\n"
        b"To: support@example.com\r\nSubject: =?x-unknown?q?caf=E9?= \r\n"
        b"Message-ID: <hostile-1@acme.example>\r\n\r\n" + b"A" * 5000 + b"\r\n"
    )
    await h.receive(raw)
    [ack] = kind(h, "ack")
    assert ack["Bcc"] == "" and "victim" not in ack["To"] + ack["Cc"]
    assert ack["To"] == "eve@acme.example"


# -- fuzzing: whatever comes in ends processed or quarantined, and nothing escapes ---------

SEEDS = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]


def mutate(data: st.DataObject) -> bytes:
    raw = bytearray(data.draw(st.sampled_from(SEEDS)))
    for _ in range(data.draw(st.integers(0, 8))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        at = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[at : at + data.draw(st.integers(1, 200))]
        elif op == "insert":
            raw[at:at] = data.draw(
                st.sampled_from(
                    [
                        b"\r\n",
                        b"\n\n",
                        b"=?utf-8?b?",
                        b"Content-Type: multipart/mixed; boundary=x\r\n",
                        b"\x00",
                        b"--x\r\n",
                        b"Auto-Submitted: no\r\n",
                        b"<",
                        b">",
                        b"\xff\xfe",
                    ]
                )
            )
        elif op == "dup":
            raw[at:at] = raw[at : at + 100]
    return bytes(raw)


async def _process_all(raws: list[bytes], config: Config, target: str = ":memory:") -> list[str]:
    """Store and process ``raws``; the states they end in (of a database that may hold earlier
    mail: only theirs)."""
    store = Store(target)
    await store.start()
    clock = FakeClock(MONDAY_10)
    processor = Processor(store, Services.build(config, clock))
    try:
        before = await store.run(
            lambda db: db.execute("SELECT coalesce(max(id), 0) FROM inbox").fetchone()[0]
        )
        await store.run(storing(raws, clock.now(), source="fuzz"))
        await processor.process_pending()
        rows = await store.run(
            lambda db: db.execute(
                "SELECT state FROM inbox WHERE id > ? ORDER BY id", (before,)
            ).fetchall()
        )
        return [r[0] for r in rows]
    finally:
        await store.stop()


@pytest.fixture(scope="module")
def fuzz_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    from gateway.core.config import parse_config
    from tests.conftest import base_config

    return parse_config(base_config(tmp_path_factory.mktemp("fuzz")))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_mail_ends_processed_or_quarantined(
    data: st.DataObject, fuzz_config: Config
) -> None:
    raws = [mutate(data), data.draw(st.binary(max_size=400))]
    states = asyncio.run(_process_all(raws, fuzz_config))
    assert len(states) == 2 and set(states) <= {"processed", "quarantined", "spam"}


@pytest.fixture(scope="module")
def fuzz_database(postgres_server: Postgres) -> str:
    return postgres_server.database()


@pytest.mark.skipif("postgresql" not in ENGINES, reason="PostgreSQL is not among the engines")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzzed_mail_ends_processed_or_quarantined_on_postgresql(
    data: st.DataObject, fuzz_config: Config, fuzz_database: str
) -> None:
    """The same property on PostgreSQL, which refuses other bytes than SQLite does (NUL in
    text, broken UTF-8): no mail held for what the engine will not store."""
    raws = [mutate(data), data.draw(st.binary(max_size=400))]
    states = asyncio.run(_process_all(raws, fuzz_config, fuzz_database))
    assert len(states) == 2 and set(states) <= {"processed", "quarantined", "spam"}


# -- who is writing: addresses are parsed from the header as sent, never decoded into being ----


@pytest.mark.parametrize(
    ("sender", "address", "name"),
    [
        # A line break in an encoded display name: no Bcc, no second recipient.
        (
            "=?utf-8?q?Eve=0D=0ABcc:_victim1@x.example?= <eve1@crlf.example>",
            "eve1@crlf.example",
            "Eve Bcc: victim1@x.example",
        ),
        # A ':' and ';' in an encoded display name start no group.
        (
            "=?utf-8?q?Eve:victim@victim.example;?= <eve@evil.example>",
            "eve@evil.example",
            "Eve:victim@victim.example;",
        ),
        # Local parts are case-sensitive: kept as written; the domain is lower-cased.
        ("Q Person <Q.Person@Example.COM>", "Q.Person@example.com", "Q Person"),
    ],
)
async def test_an_encoded_display_name_never_names_a_recipient(
    h: Harness, sender: str, address: str, name: str
) -> None:
    raw = (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: help\r\n"
        "Message-ID: <attack-1@evil.example>\r\n\r\nWhy does it fail?\r\n"
    ).encode()
    await h.receive(raw)
    [ack] = [m for m in h.sink.messages if m["X-Support-Kind"] == "ack"]
    assert ack.rcpt == [address]
    assert ack["To"] == address and ack["Cc"] == ""
    assert all(address in m.rcpt or "@example.com" in m.rcpt[0] for m in h.sink.messages)
    assert await h.scalar("SELECT customer_name FROM tickets") == name


async def test_an_encoded_word_alone_is_no_address(h: Harness) -> None:
    raw = (
        b"From: =?utf-8?q?x=40evil.example?=\r\nTo: support@example.com\r\nSubject: hi\r\n"
        b"Message-ID: <attack-2@evil.example>\r\n\r\nHello?\r\n"
    )
    await h.receive(raw)
    assert h.sink.messages == []
    assert await h.scalar("SELECT action FROM inbox") == "suppress"


async def test_the_caps_count_one_mailbox_however_it_is_spelled(h: Harness) -> None:
    for n, spelled in enumerate(["jane@acme.example", "JANE@acme.example", "Jane@ACME.example"]):
        await h.receive(customer_mail(f"case-{n}", sender=spelled))
    await h.receive(customer_mail("case-3", sender="jAne@acme.example"))
    acks = [m for m in h.sink.messages if m["X-Support-Kind"] == "ack"]
    assert len(acks) == 3, "the hourly cap (3) is per mailbox, not per spelling"


@pytest.mark.parametrize(
    "sender", ["support+sup-1006.k7f3qz2abc@example.com", "support+billing@example.com"]
)
async def test_our_plus_and_relay_addresses_are_ours(h: Harness, sender: str) -> None:
    await h.receive(customer_mail("plus", sender=sender, name="Example Support"))
    assert h.sink.messages == []
    assert await h.scalar("SELECT action FROM inbox") == "suppress"
    assert "own" in str(await h.joined("SELECT verdict FROM decisions ORDER BY id"))


async def test_spam_is_kept_unanswered_and_an_operator_can_release_it(h: Harness) -> None:
    from gateway.cli import quarantine, status
    from gateway.core.config import parse_config
    from tests.conftest import PEOPLE

    raw = (CORPUS / "spam-spamassassin-flag.eml").read_bytes()
    await h.receive(raw)
    assert h.sink.messages == [], "no acknowledgement (backscatter), no SE copy"
    assert await h.scalar("SELECT state FROM inbox") == "spam"
    assert "X-Spam-Flag: YES" in str(await h.scalar("SELECT reason FROM inbox"))
    figures = status.collect(h.store.path, h.clock.now())
    assert figures["inbox"]["spam"] == 1
    assert "1 kept as spam" in status.render(figures)

    config = parse_config(
        {
            "imap": {"enabled": False},
            "database": {"path": h.store.path},
            "people": PEOPLE,
            "routing": {"default_se": "dana@example.com"},
        }
    )
    code, listing = await quarantine.run(config, h.clock, "list", None)
    assert code == 0 and "spam" in listing and "<spam-1@lottery.example>" in listing
    code, said = await quarantine.run(config, h.clock, "release", 1)
    assert code == 0 and "not spam" in said
    await h.processor.process_pending()
    await h.sender.drain()
    assert await h.scalar("SELECT state FROM inbox") == "processed"
    assert [m["X-Support-Kind"] for m in h.to("winner@lottery.example")] == ["ack"]
    assert "overruled by an operator" in str(
        await h.joined("SELECT reason FROM decisions WHERE step = 'rule:spam-verdict' ORDER BY id")
    )


@pytest.mark.parametrize(
    ("name", "failed"),
    [
        ("bounce-rfc3464-postfix.eml", ["gone@acme.example"]),
        ("bounce-exim-failed-recipients.eml", ["old@globex.example"]),
        ("bounce-qmail-failure-notice.eml", ["someone@example.net"]),
        ("bounce-yahoo-failure-notice.eml", ["gone@acme.example"]),
        ("bounce-sendmail-fatal-errors.eml", ["gone@globex.example"]),
        # Recognised as a bounce by its subject; no detector reads this text format's address.
        ("bounce-exchange-undeliverable.eml", []),
    ],
)
def test_the_failed_addresses_of_each_bounce_format(name: str, failed: list[str]) -> None:
    from gateway.steps.automated import bounce_facts

    assert bounce_facts((CORPUS / name).read_bytes())[1] == failed


async def test_a_broken_encoded_name_with_a_stray_byte_is_stored_not_held(
    fuzz_config: Config,
) -> None:
    """Found by the fuzz run: an encoded word broken by a control byte left the Latin-1 byte
    of the name as a lone surrogate, which SQLite cannot store: the mail was held as our fault
    on every try. The byte is read as U+FFFD; the mail is acknowledged."""
    raw = (
        b"From: =?\x01so-8859-1?q?Ren=E9_Dupont?= <rene@client.example>\n"
        b"To: support@example.com\nSubject: Export\nMessage-Id: <a@client.example>\n\n"
        b"Bonjour, l'export echoue.\n"
    )
    assert parse(raw).from_name == "Ren\ufffd Dupont"
    assert await _process_all([raw], fuzz_config) == ["processed"]


async def test_a_from_the_header_parser_trips_on_is_stored_and_decided_not_held(
    fuzz_config: Config,
) -> None:
    """Found by the fuzz run: a group with words after its end ("a:b@c;d") makes the standard
    library's address parser raise AttributeError. Storing the mail (its conversation keys)
    failed, and parsing it would have held it as our fault: it has no usable sender, nothing
    more."""
    raw = b"From: a:b@c;d\nTo: support@example.com\nSubject: Export\n\nIt fails.\n"
    assert parse(raw).from_address == ""
    assert await _process_all([raw], fuzz_config) in (["processed"], ["quarantined"])


async def test_plus_tags_are_one_mailbox_for_the_caps(h: Harness) -> None:
    # Five "different" senders, one mailbox: it gets the hourly cap (3), no more.
    for n in range(5):
        await h.receive(
            customer_mail(f"tag-{n}", sender=f"target+{n}@victim.example", subject=f"Hi {n}")
        )
    reached = [m for m in kind(h, "ack") if m["To"].startswith("target+")]
    assert len(reached) == 3
    assert len(kind(h, "se-copy")) == 5  # the team still sees every mail


async def test_a_capped_copy_never_withholds_the_senders_acknowledgement(h: Harness) -> None:
    # Rosalie's mailbox is used up (three mails of her own this hour); then Jane writes with
    # Rosalie in CC: Jane is acknowledged, Rosalie left out of that one mail.
    for n in range(3):
        await h.receive(customer_mail(f"r-{n}", sender="r.payne@acme.example", subject=f"R {n}"))
    await h.receive(customer_mail("jane", headers={"Cc": "r.payne@acme.example"}))
    [ack] = [m for m in kind(h, "ack") if m["To"] == "jane@acme.example"]
    assert "r.payne" not in (ack["Cc"] or "") and "r.payne@acme.example" not in ack.rcpt
    assert "casey@example.com" in ack.rcpt  # the SC is never capped
    why = await h.joined("SELECT reason FROM decisions WHERE step = 'cap'")
    assert "ack not sent to r.payne@acme.example" in why


async def test_a_strangers_first_mail_is_acknowledged_to_them_alone(h: Harness) -> None:
    copied = ", ".join(f"person{n}@elsewhere.example" for n in range(9))
    await h.receive(
        customer_mail(
            1,
            sender="new@stranger.example",
            subject="Your account is locked",
            body="Verify your account at http://evil.example/login now. What happens next?",
            headers={"Cc": copied},
        )
    )
    [ack] = kind(h, "ack")
    assert ack.rcpt == ["new@stranger.example"] and not ack["Cc"]
    assert "evil.example" not in ack.text() and "[link removed]" in ack.text()
    # The people they copied stay on the ticket: an SE's answer reaches them.
    assert await h.scalar("SELECT count(*) FROM participants") >= 2
    copy = kind(h, "se-copy")[0]
    await h.receive(relay_reply(copy, "We never ask for passwords by mail: ignore that link."))
    [reply] = kind(h, "reply")
    assert "person0@elsewhere.example" in reply.rcpt


async def test_a_root_dot_or_an_international_domain_is_answered_and_eai_is_held_readably(
    h: Harness,
) -> None:
    """A From is no bounce because of how its domain is spelled: jane@acme.example. (the root's
    dot) is jane@acme.example, and an internationalized domain is answered at its ASCII form.
    An address with letters outside ASCII before the @ (SMTPUTF8 mail) cannot be written to
    through the relay: it is quarantined with a reason a person can read, never taken for a
    robot."""

    def mail(sender: str, n: int) -> bytes:
        return (
            f"From: Jane Doe <{sender}>\nTo: support@example.com\nSubject: Export {n}\n"
            f"Message-ID: <idn-{n}@client.example>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\nThe export fails. Can you help?\n"
        ).encode()

    await h.receive(mail("jane@acme.example.", 1))
    await h.receive(mail("jürgen@bücher.example", 2))
    await h.receive(mail("jane@bücher.example", 3))
    acks = [m["To"] for m in h.sink.messages if m["X-Support-Kind"] == "ack"]
    assert "jane@acme.example" in acks, "the root's dot is no other domain"
    assert "jane@xn--bcher-kva.example" in acks, "an international domain, at its ASCII form"
    reason = await h.scalar("SELECT reason FROM inbox WHERE state = 'quarantined'")
    assert "outside ASCII before the @" in str(reason), reason
    assert await h.scalar("SELECT count(*) FROM inbox WHERE action = 'suppress'") == 0


async def test_one_senders_flood_reaches_the_lead_once_not_the_se_a_hundred_times(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    """Past safety.max_staff_mail_per_sender_per_day, one sender's mail still opens tickets
    (nothing is lost) but makes no more SE copies or alerts that day; the lead hears once."""
    from tests.conftest import harness

    config = make_config(safety={"max_staff_mail_per_sender_per_day": 3})
    async with harness(config, clock, sink) as h:
        for n in range(6):
            await h.receive(customer_mail(n, sender="eve@evil.example", subject=f"Spam {n}"))
        assert await h.scalar("SELECT count(*) FROM tickets") == 6, "every mail is kept"
        assert len(kind(h, "se-copy")) == 3
        [flood] = kind(h, "note")
        assert flood["To"] == "lee@example.com" and "Many mails from one sender" in flood["Subject"]
        assert "eve@evil.example has sent 4 mails today" in flood.text()
        # Tomorrow the count starts again.
        await h.later(timedelta(days=1, minutes=1))
        await h.receive(customer_mail(9, sender="eve+x@evil.example", subject="Again"))
        assert len(kind(h, "se-copy")) == 4
