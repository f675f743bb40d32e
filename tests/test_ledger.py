"""The promise ledger on a fake clock: revisions, escalation, pauses, status updates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from gateway.core.config import Config
from gateway.promise import ledger
from gateway.store import tickets
from tests.conftest import customer_mail
from tests.harness import Harness, transaction


def kinds(h: Harness) -> list[str]:
    return [m["X-Support-Kind"] for m in h.sink.messages]


async def ticket(h: Harness, ticket_id: int = 1):  # type: ignore[no-untyped-def]
    async with transaction(h.store) as db:
        return tickets.get(db, ticket_id)


async def test_second_miss_tells_the_escalation_contact(h: Harness) -> None:
    await h.receive(customer_mail(1))  # Monday 10:00; reply due Tuesday 10:00
    await h.later(timedelta(hours=24, minutes=6))
    first = [m for m in h.sink.messages if m["X-Support-Kind"] == "missed-alert"]
    assert [(a["To"], a["Cc"]) for a in first] == [("sam@example.com", "casey@example.com")]
    await h.later(timedelta(days=1, hours=7))  # past Wednesday 17:00, the revised date
    alerts = [m for m in h.sink.messages if m["X-Support-Kind"] == "missed-alert"]
    assert len(alerts) == 2
    assert alerts[1]["Cc"] == "casey@example.com, lee@example.com"
    assert "miss number 2" in alerts[1].text()


async def test_waiting_on_the_customer_pauses_the_clocks(h: Harness) -> None:
    await h.receive(customer_mail(1))  # Monday 10:00; reply due Tuesday 10:00
    h.clock.advance(timedelta(hours=2))  # Monday 12:00
    async with transaction(h.store) as db:
        ledger.pause(db, tickets.get(db, 1), h.clock.now())
    await h.later(timedelta(days=3))  # Thursday 12:00 (Thanksgiving): nothing goes out
    assert kinds(h) == ["ack", "se-copy"]
    # The customer answers on Friday 09:00: every open date moves by the business time spent
    # waiting.
    h.clock.advance(timedelta(hours=21))
    reply = customer_mail("1b", body="Here are the logs.", in_reply_to="<customer-1@acme.example>")
    await h.receive(reply)
    t = await ticket(h)
    assert t.state.value == "new"
    # She is told the moved date (no later mail may quote a date she was never told).
    assert kinds(h) == ["ack", "se-copy", "ack", "se-copy"]
    assert "by Friday 27 November, 16:00 EST" in h.sink.messages[2].text()
    async with transaction(h.store) as db:
        rows = db.execute(
            "SELECT kind, told, made_by FROM commitments WHERE superseded_by IS NULL"
            " AND missed_at IS NULL ORDER BY id"
        ).fetchall()
    # Waited Mon 12-17 (5 h), Tue (9 h), Wed (9 h), Fri 08-09 (1 h) = 24 business hours. The
    # reply had 7 business hours left (Mon 12-17, Tue 08-10): Friday 09:00 + 7 h = 16:00.
    assert [tuple(r) for r in rows] == [
        ("actionable", "Friday 27 November, 16:00 EST", "pause"),
        ("point", "Friday 27 November, 16:00 EST", "pause"),  # "Can you help?"
        ("resolution", "Tuesday 1 December, 16:00 EST", "pause"),
    ]


async def test_status_update_after_two_silent_business_days(h: Harness) -> None:
    await h.receive(customer_mail(1))  # Monday 10:00
    h.clock.advance(timedelta(hours=2))
    reply = customer_mail(
        "s",
        sender="sam@example.com",
        name="Sam Engineer",
        body="Looking into it.",
        in_reply_to="<customer-1@acme.example>",
        headers={"Cc": "jane@acme.example"},  # an engineer's answer goes to the customer
    )
    await h.receive(reply)  # the SE answered on Monday 12:00: ticket answered, in progress
    await h.later(timedelta(days=1))  # Tuesday 12:00: too early
    assert "status-update" not in kinds(h)
    await h.later(timedelta(days=1, minutes=1))  # Wednesday 12:01: two business days of silence
    updates = [m for m in h.sink.messages if m["X-Support-Kind"] == "status-update"]
    assert len(updates) == 1
    u = updates[0]
    assert u["To"] == "jane@acme.example" and u["Cc"] == "casey@example.com"
    assert u["In-Reply-To"] == "<customer-1@acme.example>"
    assert "in progress with Sam Engineer" in u.text()
    assert "Thursday 26 November" not in u.text()  # Thanksgiving is closed
    # The policy's resolution date was only ever a target, and is called one.
    assert "Our target for a resolution remains Friday 27 November, 10:00 EST." in u.text()
    for _ in range(3):
        await h.later(timedelta(hours=1))
    assert kinds(h).count("status-update") == 1


async def test_missed_resolution_on_an_answered_ticket_alerts_only_the_team(h: Harness) -> None:
    await h.receive(customer_mail(1))
    h.clock.advance(timedelta(hours=1))
    async with transaction(h.store) as db:
        ledger.responded(db, tickets.get(db, 1), h.clock.now())
        ledger.pause(db, tickets.get(db, 1), h.clock.now())  # no status updates
    async with transaction(h.store) as db:
        t = tickets.get(db, 1)
        tickets.set_state(db, 1, t.state.__class__("answered"))
        tickets.contacted(db, 1, h.clock.now() + timedelta(days=30))  # no status update
    await h.later(timedelta(days=5))  # the resolution date (Friday 10:00) has passed
    assert "revised-eta" not in kinds(h)
    alert = [m for m in h.sink.messages if m["X-Support-Kind"] == "missed-alert"]
    assert len(alert) == 1 and "please set a date" in alert[0]["Subject"]
    assert "has not been sent a new date" in alert[0].text()
    assert "#eta resolve <when>" in alert[0].text()


async def test_an_engineer_date_is_kept_or_revised(h: Harness) -> None:
    await h.receive(customer_mail(1))
    async with transaction(h.store) as db:
        t = tickets.get(db, 1)
        ledger.responded(db, t, h.clock.now())
        due = h.clock.now() + timedelta(hours=3)
        ledger.set_eta(db, t, due, h.clock.now(), "Monday 23 November, 13:00 EST", "sam")
    await h.later(timedelta(hours=3, minutes=6))
    revised = [m for m in h.sink.messages if m["X-Support-Kind"] == "revised-eta"]
    assert len(revised) == 1
    text = revised[0].text()
    assert "have an update on ticket SUP-1001 by Monday 23 November, 13:00 EST" in text
    assert "Sam Engineer will get back to you by Tuesday 24 November, 17:00 EST." in text


async def test_resolution_meets_every_date(h: Harness) -> None:
    await h.receive(customer_mail(1))
    async with transaction(h.store) as db:
        ledger.resolve(db, tickets.get(db, 1), h.clock.now())
    await h.later(timedelta(days=10))
    assert kinds(h) == ["ack", "se-copy"]
    assert await h.scalar("SELECT count(*) FROM commitments WHERE met_at IS NULL") == 0


async def test_status_shows_what_needs_attention(
    h: Harness, make_config: Callable[..., Config]
) -> None:
    from gateway.cli import status

    await h.receive(customer_mail(1))
    await h.receive(customer_mail(2, sender="li@globex.example"))
    h.clock.advance(timedelta(hours=24, minutes=1))  # both reply dates just passed, no tick yet
    figures = status.collect(make_config().database.target, h.clock.now())
    assert figures["tickets"] == {"new": 2}
    assert figures["commitments"]["overdue"] == 4  # two replies and the two points they hold
    assert figures["outbox"] == {"queued": 0, "oldest_queued": None, "dead": 0, "sent": 4}
    text = status.render(figures)
    assert "tickets:      new 2" in text and "4 overdue" in text
    from zoneinfo import ZoneInfo

    # For people, the team's time with its zone named: 24 h after Monday 10:00 New York.
    local = status.render(figures, ZoneInfo("America/New_York"))
    assert local.splitlines()[0] == "status at Tue 24 Nov 2026 10:01 EST", local


async def test_report_says_which_promises_were_kept(
    h: Harness, make_config: Callable[..., Config]
) -> None:
    import csv
    import io

    from gateway.promise import keeping as report

    await h.receive(customer_mail(1))  # Acme (Sam): answered and resolved in time
    await h.receive(customer_mail(2, sender="li@globex.example"))  # nobody answers
    h.clock.advance(timedelta(hours=2))
    answer = customer_mail(
        "a",
        sender="sam@example.com",
        name="Sam Engineer",
        in_reply_to="<customer-1@acme.example>",
        headers={"Cc": "jane@acme.example"},  # an engineer's answer goes to the customer
    )
    await h.receive(answer)
    async with transaction(h.store) as db:
        ledger.resolve(db, tickets.get(db, 1), h.clock.now())
    await h.later(timedelta(hours=23))  # ticket 2's reply date passes: one revised date
    now = h.clock.now()  # Tuesday 11:00: both reply dates have come, no resolution date yet
    rows = report.collect(make_config().database.target, now - timedelta(days=7), 60, now)
    by = {(r["scope"], r["name"]): r for r in rows}
    everyone = by[("all", "all")]
    assert (everyone["tickets"], everyone["acknowledged_in_time"]) == (2, 2)
    assert (everyone["answered_in_time"], everyone["reply_came_due"]) == (1, 2)
    # Ticket 2's resolution target has not come: it counts neither way.
    assert (everyone["resolved_in_time"], everyone["resolution_came_due"]) == (1, 1)
    # Only dates promised count: the reply dates (one met, one missed), not the targets.
    assert (everyone["dates_met"], everyone["dates_missed"], everyone["revised_etas"]) == (1, 1, 1)
    assert everyone["eta_hit_rate"] == 0.5
    assert by[("account", "Acme")]["eta_hit_rate"] == 1.0
    assert by[("account", "Globex")]["dates_missed"] == 1
    table = report.render(rows)
    assert table.splitlines()[1].split()[:6] == ["all", "all", "2", "2/2", "1/2", "1/1"]
    assert "50%" in table
    parsed = list(csv.DictReader(io.StringIO(report.to_csv(rows))))
    assert parsed[0]["eta_hit_rate"] == "0.5"
