"""The account's side (issue 28): requests the SC owns (a quote, an invoice) routed to the
account's SC or who covers on shift, with the SC's targets; direct replies that left the SC
out; the SC's digest and the customer's report (pure parts, and the real pipeline: SQLite or
PostgreSQL, the SMTP sink, a fake clock)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config, ConfigError, load_config, parse_config
from gateway.core.config.team import default_requests
from gateway.core.models import Periodic
from gateway.mail.requests import kind_of, owned
from gateway.promise.routing import Directory
from gateway.store import Db, sends
from tests.conftest import (
    MONDAY_10,
    NY,
    PEOPLE,
    customer_mail,
    database_toml,
    harness,
    relay_reply,
)
from tests.harness import Harness

MINIMAL: dict[str, Any] = {
    "imap": {"enabled": False},
    "people": [{"name": "Sam", "address": "sam@example.com", "role": "se"}],
    "routing": {"default_se": "sam@example.com"},
}
KINDS = parse_config(MINIMAL).requests
ROOT = Path(__file__).resolve().parent.parent
QUOTE = "Could you send us a quote for 20 more licences?"
WHY = "Why does the nightly export fail with E42?"


@pytest.mark.parametrize(
    ("point", "kind"),
    [
        (QUOTE, "quote"),
        ("What would 50 more seats cost us? Please send the price list.", "pricing"),
        ("When is our licence renewal due, and can we renew for two years?", "licence"),
        ("Can you resend our invoice INV-2211? Accounts payable lost it.", "billing"),
        ("We were billed twice in November: could you refund one?", "billing"),
        ("Could you send the signed contract back to us?", "contract"),
        ("Können Sie uns ein Angebot für 20 weitere Lizenzen schicken?", "quote"),
        ("¿Nos pueden enviar un presupuesto para 20 licencias más?", "quote"),
        (WHY, ""),
        ("Is version 4.2 affected too?", ""),
        # Whole words only: a technical point that merely contains the letters is the SE's.
        ("The quoted CSV fields are cut at 255 characters, why?", ""),
        ("Our licence key is rejected since the upgrade: what is wrong?", ""),
        # A fault is the engineer's, whatever it names; a feature named like a request too.
        ("The invoice export comes out empty since Friday. Why?", ""),
        ("La pasarela de pago falla desde ayer, ¿por qué?", ""),
        ("Why does the renewal reminder fail to send?", ""),
    ],
)
def test_the_request_kinds_the_example_ships(point: str, kind: str) -> None:
    assert kind_of(point, KINDS) == kind


def test_hostile_words_in_a_config_are_literal() -> None:
    odd = [{"name": "odd", "words": {"en": ["a.*b", "(x"]}}]
    kinds = parse_config(MINIMAL | {"requests": odd}).requests
    assert kind_of("please send a.*b now", kinds) == "odd"
    assert kind_of("please send aXXb now", kinds) == ""
    assert owned(["(x marks it?", "nothing here?"], kinds) == [("(x marks it?", "odd")]


def shifts(**over: Any) -> Config:
    """The suite's people with shifts: Casey 09:00-17:00 New York, Robin (Casey's backup)
    12:00-20:00 New York; Sam's account SE is covered by Dana."""
    people = [dict(p) for p in PEOPLE]
    for p in people:
        if p["address"] == "casey@example.com":
            p["hours"] = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
        if p["address"] == "robin@example.com":
            p["hours"] = {d: ["12:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    data: dict[str, Any] = {
        "imap": {"enabled": False},
        "routing": {"default_se": "dana@example.com"},
        "people": people,
        "accounts": [
            {
                "name": "Acme",
                "domains": ["acme.example"],
                "se": "sam@example.com",
                "sc": "casey@example.com",
                "backup_sc": "robin@example.com",
            }
        ],
    }
    data.update(over)
    return parse_config(data)


def test_the_account_sc_owns_a_request_on_shift_and_who_covers_after_it() -> None:
    d = Directory(shifts())
    assert d.sc_owner("Acme", MONDAY_10)[0] == "casey@example.com"
    evening = MONDAY_10.replace(hour=18)
    owner, why = d.sc_owner("Acme", evening)
    assert owner == "robin@example.com" and "covers for Casey Consultant" in why
    # Nobody on shift (before anyone starts): the account's SC keeps it for their next shift.
    owner, why = d.sc_owner("Acme", MONDAY_10.replace(hour=7))
    assert owner == "casey@example.com" and "next shift" in why


def test_a_persons_hours_are_checked_in_their_own_time_zone() -> None:
    people = [dict(p) for p in PEOPLE]
    people[2] |= {"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"]}}
    d = Directory(shifts(people=people))
    assert d.on_shift("casey@example.com", MONDAY_10)  # 16:00 in Berlin
    assert not d.on_shift("casey@example.com", MONDAY_10.replace(hour=12))  # 18:00 there


def test_hours_must_name_weekdays_and_real_windows() -> None:
    for hours in ({"monday": ["09:00-17:00"]}, {"mon": ["17:00-09:00"]}, {"mon": []}):
        people = [dict(p) for p in PEOPLE]
        people[2] |= {"hours": hours}
        with pytest.raises(ConfigError):
            shifts(people=people)


# -- on the real pipeline ------------------------------------------------------------------------


@pytest.fixture
async def hs(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> AsyncIterator[Harness]:
    base = shifts()
    config = make_config(
        people=[p.model_dump() for p in base.people],
        accounts=[a.model_dump() for a in base.accounts],
    )
    async with harness(config, clock, sink) as running:
        yield running


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


def local(value: object) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(NY)


async def test_a_quote_request_is_the_scs_with_a_reply_one_business_hour_out(hs: Harness) -> None:
    await hs.receive(customer_mail(1, subject="Quote please", body=f"Hello,\n\n{QUOTE}\n\nJane"))
    assert await hs.scalar("SELECT se FROM tickets") == "casey@example.com"
    due = await hs.scalar("SELECT due_at FROM commitments WHERE kind = 'actionable'")
    assert local(due) == MONDAY_10 + timedelta(hours=1)
    [ack] = kind(hs, "ack")
    assert "Casey Consultant will answer your question by Monday 23 November, 11:00" in ack.text()
    [copy] = kind(hs, "se-copy")
    assert copy["To"] == "casey@example.com" and copy["Cc"] == ""
    assert "every point is the SC's" in copy.text()
    # The SC answers through the relay, as an SE would: the customer has it, the date is met.
    await hs.receive(
        relay_reply(
            copy, "Hi Jane,\n\nThe quote is attached: 20 x 90 EUR.\n", sender="casey@example.com"
        )
    )
    [reply] = kind(hs, "reply")
    assert reply["To"] == "jane@acme.example" and "20 x 90 EUR" in reply.text()
    assert (
        await hs.scalar(
            "SELECT COUNT(*) FROM commitments WHERE kind IN ('actionable',"
            " 'point') AND met_at IS NULL"
        )
        == 0
    )


async def test_after_the_scs_shift_the_covering_sc_gets_it(hs: Harness) -> None:
    hs.clock.advance(timedelta(hours=8))  # Monday 18:00: Casey's shift ended at 17:00
    await hs.receive(customer_mail(1, body=QUOTE, date=MONDAY_10 + timedelta(hours=8)))
    assert await hs.scalar("SELECT se FROM tickets") == "robin@example.com"
    due = await hs.scalar("SELECT due_at FROM commitments WHERE kind = 'actionable'")
    assert local(due) == MONDAY_10 + timedelta(hours=9)  # 19:00, in Robin's shift
    [copy] = kind(hs, "se-copy")
    assert copy["To"] == "robin@example.com"
    assert "covers for Casey Consultant" in copy.text()


async def test_a_technical_question_and_a_quote_get_both_owners(hs: Harness) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n\n{QUOTE}\n"))
    assert await hs.scalar("SELECT se FROM tickets") == "sam@example.com"
    owners = await hs.joined(
        "SELECT owner || '@' || due_at FROM commitments WHERE kind = 'point' ORDER BY due_at", "|"
    )
    quote, why = owners.split("|")
    assert quote.startswith("casey@example.com@") and why.startswith("@")
    [ack] = kind(hs, "ack")
    text = " ".join(ack.text().split())
    assert (
        f"Casey Consultant, who looks after your account, will answer “{QUOTE}” by Monday"
        " 23 November, 11:00" in text
    )
    assert "Sam Engineer will answer your other question by Tuesday 24 November" in text
    [copy] = kind(hs, "se-copy")
    assert copy["To"] == "sam@example.com" and copy["Cc"] == "casey@example.com"
    # The SE answers in prose: their point is met; the SC's quote keeps its own date.
    await hs.receive(relay_reply(copy, "Hi Jane,\n\nE42 is fixed in 4.2.1: please upgrade.\n"))
    open_points = await hs.joined(
        "SELECT owner FROM commitments WHERE kind = 'point' AND"
        " met_at IS NULL AND superseded_by IS NULL"
    )
    assert open_points == "casey@example.com"
    # An hour on, the SC is warned of their own date (not the SE), then the SC answers it.
    await hs.later(timedelta(minutes=45))
    await hs.receive(
        relay_reply(
            copy, "Hi Jane,\n\nThe quote: 20 x 90 EUR.\n", sender="casey@example.com", n="sc"
        )
    )
    assert (
        await hs.scalar(
            "SELECT COUNT(*) FROM commitments WHERE kind = 'point' AND met_at"
            " IS NULL AND superseded_by IS NULL"
        )
        == 0
    )
    assert len(kind(hs, "reply")) == 2


async def test_a_missed_sc_date_is_revised_and_the_sc_alerted(hs: Harness) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n\n{QUOTE}\n"))
    await hs.later(timedelta(minutes=20))
    assert kind(hs, "due-soon") == []  # an hour's date is not warned of the moment it is made
    await hs.later(timedelta(minutes=15))
    assert [m["To"] for m in kind(hs, "due-soon")] == ["casey@example.com"]
    await hs.later(timedelta(minutes=12))  # 13 minutes before it passes: revised
    [revised] = kind(hs, "revised-eta")
    assert QUOTE[:30] in " ".join(revised.text().split())
    [alert] = kind(hs, "missed-alert")
    assert alert["To"] == "casey@example.com"
    owner = await hs.scalar("SELECT owner FROM commitments WHERE made_by = 'revision'")
    assert owner == "casey@example.com"


def test_the_example_config_ships_the_default_request_kinds() -> None:
    example = load_config(ROOT / "deploy" / "support-gateway.toml")
    assert example.requests == default_requests()
    assert {k.name for k in example.requests} == {
        "quote",
        "pricing",
        "licence",
        "billing",
        "contract",
    }
    assert all(set(k.words) == {"en", "de", "es"} for k in example.requests)


# -- direct replies (not through the relay) --------------------------------------------------


def direct(n: str, sender: str, name: str, body: str, cc: str = "support@example.com") -> bytes:
    """Our person's own mail client answering the customer's first mail directly, support in CC."""
    raw = customer_mail(
        n,
        sender=sender,
        name=name,
        subject="Re: Problem number 1",
        body=body,
        in_reply_to="<customer-1@acme.example>",
    )
    return raw.replace(b"To: support@example.com", f"To: jane@acme.example\nCc: {cc}".encode())


async def test_a_direct_se_reply_that_left_the_sc_out_reaches_the_sc(hs: Harness) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n"))
    await hs.receive(
        direct("d1", "sam@example.com", "Sam Engineer", "Hi Jane,\n\nUpgrade to 4.2.1.")
    )
    assert (
        await hs.scalar(
            "SELECT COUNT(*) FROM commitments WHERE kind = 'actionable' AND met_at IS NOT NULL"
        )
        == 1
    )  # met, as an answer to the customer is
    [copy] = kind(hs, "sc-copy")
    assert copy["To"] == "casey@example.com"
    assert copy["Reply-To"].startswith("support+sup-1001.")  # the SC can answer through it
    assert "Sam Engineer wrote to jane@acme.example on SUP-1001 directly" in copy.text()
    assert "Upgrade to 4.2.1." in copy.text()
    [hint] = [m for m in kind(hs, "note") if m["To"] == "sam@example.com"]
    assert "Keep the SC in" in hint["Subject"] and "told this once" in hint.text()
    # The next such mail: the SC has it too; the writer is not told again.
    await hs.receive(direct("d2", "sam@example.com", "Sam Engineer", "Jane, one more thing."))
    assert len(kind(hs, "sc-copy")) == 2
    assert len([m for m in kind(hs, "note") if m["To"] == "sam@example.com"]) == 1


async def test_a_direct_reply_with_the_sc_in_cc_is_not_copied(hs: Harness) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n"))
    both = "support@example.com, casey@example.com"
    await hs.receive(direct("d1", "sam@example.com", "Sam Engineer", "Hi Jane, done.", cc=both))
    assert kind(hs, "sc-copy") == [] and kind(hs, "note") == []
    assert await hs.scalar("SELECT state FROM tickets") == "answered"


async def test_an_sc_answering_their_request_directly_meets_its_date(hs: Harness) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n\n{QUOTE}\n"))
    await hs.receive(direct("d1", "casey@example.com", "Casey Consultant", "Jane: 20 x 90 EUR."))
    open_owners = await hs.joined(
        "SELECT owner FROM commitments WHERE kind IN ('point',"
        " 'actionable') AND met_at IS NULL AND superseded_by IS NULL"
    )
    assert open_owners == ","  # the SE's reply and point still owed; the SC's quote met
    assert kind(hs, "sc-copy") == []  # the SC wrote it


# -- the SC's digest and the customer's report -----------------------------------------------


async def test_an_sc_gets_one_digest_at_the_start_of_their_shift(hs: Harness) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n"))
    await hs.later(timedelta(minutes=1))  # Monday 10:01: Casey is on shift, no digest yet today
    [first] = kind(hs, "sc-digest")
    assert first["To"] == "casey@example.com" and first["X-Support-Ticket"] == ""
    text = " ".join(first.text().split())
    assert "New tickets (1): - SUP-1001 (Acme, jane@acme.example), “Problem number 1”" in text
    await hs.later(timedelta(hours=1))
    assert len(kind(hs, "sc-digest")) == 1  # one a day
    # Tuesday 08:30: before Casey's shift (09:00) nothing; at 09:00 the day's digest.
    await hs.later(timedelta(hours=21, minutes=29))
    assert len(kind(hs, "sc-digest")) == 1
    await hs.later(timedelta(minutes=31))
    second = kind(hs, "sc-digest")[1]
    text = " ".join(second.text().split())
    assert "Due today (1): - SUP-1001" in text and "by Tuesday 24 November, 10:00 EST" in text
    assert "(Sam Engineer)" in text and "New tickets" not in text
    # Sam answers; on Wednesday there is nothing to tell Casey: no digest.
    copy = kind(hs, "se-copy")[0]
    await hs.receive(relay_reply(copy, "Hi Jane,\n\nE42 is fixed in 4.2.1.\n"))
    await hs.later(timedelta(days=1))
    assert len(kind(hs, "sc-digest")) == 2


async def test_the_customer_report_goes_fortnightly_on_friday(hs: Harness) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n"))
    await hs.receive(customer_mail(2, body="The import hangs. Any idea?"))
    copy = next(m for m in kind(hs, "se-copy") if "SUP-1002" in m["Subject"])
    await hs.receive(relay_reply(copy, "Hi Jane,\n\nDone: restart it.\n\n#resolved\n"))
    await hs.receive(customer_mail(3, sender="rob@acme.example", name="Rob", body="Help?"))
    await hs.later(timedelta(days=3, hours=-3))  # Thursday 07:00
    assert kind(hs, "customer-report") == []
    await hs.later(timedelta(days=1, hours=1, minutes=1))  # Friday 08:01, the team open
    # Each person on the account's open tickets gets the report of theirs, nobody else's.
    report, robs = kind(hs, "customer-report")
    assert report["To"] == "jane@acme.example" and report["Cc"] == "casey@example.com"
    assert robs["To"] == "rob@acme.example" and "SUP-1003" in robs.text()
    assert "SUP-1001" not in robs.text() and "SUP-1002" not in robs.text()
    assert "SUP-1003" not in report.text()
    assert report["Auto-Submitted"] == "auto-generated"
    assert report["Subject"] == "Your support tickets: 1 open, as of Friday 27 November"
    text = " ".join(report.text().split())
    assert text.startswith("Hello, Here is where your support tickets with us stand, as of Friday")
    assert (
        "Open (1): - SUP-1001, “Problem number 1”: with Sam Engineer, who is preparing the first"
        " reply. Next: a reply by Friday 27 November, 17:00 EST." in text
    )  # the Tuesday reply date was missed (and revised to Friday: Thursday is Thanksgiving)
    assert "Resolved since our last report (1): - SUP-1002, “Problem number 2”: resolved on" in text
    assert "Casey Consultant, who looks after your account, is in copy" in text
    # Not the next Friday; the one after.
    await hs.later(timedelta(days=7))
    assert len(kind(hs, "customer-report")) == 2
    await hs.later(timedelta(days=7))
    assert len(kind(hs, "customer-report")) == 4


async def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``support-gateway ARGS`` as an operator types it (off the event loop)."""
    command = [sys.executable, "-m", "gateway", *args]
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )


async def test_customer_report_preview_prints_it_in_the_accounts_language(
    hs: Harness, tmp_path: Path
) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n"))
    config = tmp_path / "preview.toml"
    config.write_text(
        database_toml(hs.processor.services.config)
        + """
[imap]
enabled = false
[routing]
default_se = "sam@example.com"
[[people]]
name = "Sam Engineer"
address = "sam@example.com"
role = "se"
[[people]]
name = "Casey Consultant"
address = "casey@example.com"
role = "sc"
[[accounts]]
name = "Acme"
domains = ["acme.example"]
se = "sam@example.com"
sc = "casey@example.com"
language = "de"
report_contacts = ["it@acme.example"]
"""
    )
    at = (MONDAY_10 + timedelta(hours=1)).isoformat()
    args = ["customer-report", "Acme", "--preview", "--at", at, "--config", str(config)]
    done = await cli(*args)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("To: it@acme.example\nCc: casey@example.com\n")
    assert "Subject: Ihre Support-Tickets: 1 offen, Stand Montag, 23. November\n" in out
    assert "- SUP-1001, „Problem number 1“: Sam Engineer bereitet die erste Antwort vor." in out
    assert "Casey Consultant, Ihre Kundenbetreuung, erhält diesen Bericht in Kopie." in out
    # Nothing was sent or recorded: the daemon's report still goes on its day.
    assert await hs.scalar("SELECT COUNT(*) FROM last_sent WHERE kind = 'customer-report'") == 0
    unknown = await cli("customer-report", "Nobody", "--preview", "--config", str(config))
    assert unknown.returncode == 2 and "no account 'Nobody' (Acme)" in unknown.stderr


async def test_a_follow_up_asking_for_a_quote_gets_the_scs_own_date(hs: Harness) -> None:
    await hs.receive(customer_mail(1, body=f"Hello,\n\n{WHY}\n"))
    hs.clock.advance(timedelta(minutes=30))
    follow_up = customer_mail(
        2, subject="Re: Problem number 1", body=f"Hi,\n\n{QUOTE}\n",
        in_reply_to="<customer-1@acme.example>", date=MONDAY_10 + timedelta(minutes=30),
    )  # fmt: skip
    await hs.receive(follow_up)
    assert await hs.scalar("SELECT se FROM tickets") == "sam@example.com"  # still Sam's ticket
    quote = await hs.scalar("SELECT owner || ' ' || due_at FROM commitments WHERE point LIKE"
                            " '%quote%'")  # fmt: skip
    owner, due = str(quote).split(" ")
    assert owner == "casey@example.com" and local(due) == MONDAY_10 + timedelta(minutes=90)
    text = " ".join(kind(hs, "ack")[1].text().split())
    assert (
        f"Casey Consultant, who looks after your account, will answer “{QUOTE}” by Monday"
        " 23 November, 11:30 EST:" in text
    )


async def test_an_scs_open_request_moves_to_who_covers_while_they_are_away(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    base = shifts()
    people = [p.model_dump() for p in base.people]
    for p in people:
        if p["address"] == "casey@example.com":
            p["away"] = ["2026-11-24"]  # Tuesday
    config = make_config(people=people, accounts=[a.model_dump() for a in base.accounts])
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1, body=QUOTE))  # Monday: Casey's
        assert await h.scalar("SELECT se FROM tickets") == "casey@example.com"
        await h.later(timedelta(hours=23))  # Tuesday 09:00: Casey is away
        assert await h.scalar("SELECT se FROM tickets") == "robin@example.com"
        handed = [m for m in sink.messages if m["X-Support-Kind"] == "se-copy"][-1]
        assert handed["To"] == "robin@example.com" and QUOTE in " ".join(handed.text().split())
        # Robin's shift starts at 12:00: their digest covers Acme today, Casey gets none.
        await h.later(timedelta(hours=3, minutes=1))
        digests = [m for m in sink.messages if m["X-Support-Kind"] == "sc-digest"]
        assert [m["To"] for m in digests if "Tuesday" in m.text()] == ["robin@example.com"]
        assert "Your accounts (Acme)" in digests[-1].text()


async def test_a_days_digest_is_claimed_once_whoever_asks(hs: Harness) -> None:
    """Two schedulers in a take-over, or one asked twice: one digest a day for each SC."""
    monday, tuesday = MONDAY_10, MONDAY_10 + timedelta(days=1)

    def claim(now: datetime, since: datetime) -> Callable[[Db], bool]:
        return lambda db: sends.claim(db, Periodic.SC_DIGEST, "Casey@example.com", now, since)

    midnight = MONDAY_10.replace(hour=0)
    assert await hs.store.run(claim(monday, midnight))
    assert not await hs.store.run(claim(monday + timedelta(hours=1), midnight))
    assert await hs.store.run(claim(tuesday, midnight + timedelta(days=1)))
    assert not await hs.store.run(claim(tuesday, midnight + timedelta(days=1)))
