"""A new date before the old one passes: every mail says "we will write to you before it passes",
so a date still open ``sla.revise_before_minutes`` before it passes gets its new date then, in
one mail with one apology however many dates move (harness: real SQLite, real SMTP sink, fake
clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.cli.sink import Received
from tests.conftest import customer_mail, relay_reply
from tests.harness import Harness


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


async def due(h: Harness) -> datetime:
    return datetime.fromisoformat(str(await h.scalar("SELECT owed_at FROM tickets")))


async def test_the_customer_hears_the_new_date_before_the_old_one_passes(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Our export fails with E42. Why does it stop?"))
    reply_due = await due(h)
    await h.later(reply_due - h.clock.now() - timedelta(minutes=16))
    assert kind(h, "revised-eta") == []  # not yet: the SE still has time
    await h.later(timedelta(minutes=2))  # 14 minutes before the date
    [revised] = kind(h, "revised-eta")
    assert h.clock.now() < reply_due
    assert "we will not manage that" in revised.text()
    assert revised.text().count("We are sorry") == 1
    await h.later(timedelta(hours=1))  # the old date passes: nothing more to tell
    assert len(kind(h, "revised-eta")) == 1


async def test_dates_moving_together_make_one_mail_with_one_apology(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export stop? Is 4.2 affected?"))
    # Sam answers neither point but gives the reply date: the points are carried over.
    copy = kind(h, "se-copy")[0]
    await h.receive(relay_reply(copy, "#eta +1bd\nWe are checking with the team.\n"))
    point_due = datetime.fromisoformat(
        str(
            await h.scalar(
                "SELECT min(due_at) FROM commitments WHERE kind = 'point' AND met_at IS NULL"
                " AND superseded_by IS NULL"
            )
        )
    )
    await h.later(point_due - h.clock.now() - timedelta(minutes=10))
    [revised] = kind(h, "revised-eta")
    assert revised.text().count("We are sorry") == 1
    assert "Why does the export stop?" in revised.text() and "Is 4.2 affected?" in revised.text()


async def test_point_misses_count_towards_escalation(h: Harness) -> None:
    # Each moment dates move is one miss, points included (escalate_after_misses, default 2).
    await h.receive(customer_mail(1, body="Why does the export stop?"))
    await h.later(await due(h) - h.clock.now())
    await h.later(await due(h) - h.clock.now())
    alerts = kind(h, "missed-alert")
    assert len(alerts) == 2
    assert "miss number 2" in alerts[-1].text()


async def test_the_se_is_warned_two_business_hours_before_a_date_passes(h: Harness) -> None:
    """Monday 10:00's mail is due Tuesday 10:00; 120 business minutes before it is Tuesday
    08:00 (the day starts at 08:00): Sam hears then, once, and can still answer in time."""
    await h.receive(customer_mail(1, body="Our export fails with E42. Why does it stop?"))
    reply_due = await due(h)
    await h.later(timedelta(hours=6, minutes=59))  # Monday 16:59: 121 business minutes left
    assert kind(h, "due-soon") == []
    await h.later(timedelta(hours=15, minutes=2))  # Tuesday 08:01: 119 left
    [warning] = kind(h, "due-soon")
    assert warning["To"] == "sam@example.com" and not warning["Cc"]
    assert "[SUP-1001] Due soon" in warning["Subject"]
    text = warning.text()
    assert "your reply: by Tuesday 24 November, 10:00 EST (2 business hours from now)" in text
    assert "your time" not in text, "staff mail: the team's time"
    assert warning["Reply-To"].startswith("support+sup-1001."), "an answer goes straight back"
    await h.later(timedelta(minutes=30))
    assert len(kind(h, "due-soon")) == 1, "once per date"
    await h.later(reply_due - h.clock.now() - timedelta(minutes=14))
    assert len(kind(h, "revised-eta")) == 1 and len(kind(h, "due-soon")) == 1


async def test_no_warning_when_the_se_answers_in_time(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export stop?"))
    copy = kind(h, "se-copy")[0]
    await h.receive(relay_reply(copy, "It stops because the disk is full: free some space."))
    await h.later(timedelta(hours=23))
    assert kind(h, "due-soon") == []
