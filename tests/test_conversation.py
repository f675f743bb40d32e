"""The whole conversation (first part): a follow-up that asks something new is acknowledged with
a date for it; one that asks nothing new is only copied to the SE; a customer writing again on a
resolved ticket reopens it, unless it is a courtesy or the ticket was resolved long ago."""

from __future__ import annotations

from datetime import timedelta

from gateway import ledger
from gateway.sink import Received
from gateway.store import tickets
from tests.conftest import customer_mail
from tests.harness import Harness


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


def follow_up(n: str, body: str, sender: str = "jane@acme.example") -> bytes:
    return customer_mail(
        n,
        sender=sender,
        subject="Re: Problem number 1 [SUP-1001]",
        in_reply_to="<customer-1@acme.example>",
        body=body + "\n\nOn Mon, Support wrote:\n> Thank you for your message.\n",
    )


async def test_a_follow_up_with_a_new_question_gets_its_own_date(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))  # Monday 10:00
    h.clock.advance(timedelta(hours=3))  # Monday 13:00
    await h.receive(follow_up("f1", "Also: does the import fail too?\n\nJane"))
    acks = kind(h, "ack")
    assert len(acks) == 2
    second = acks[1]
    assert (second["To"], second["Cc"]) == ("jane@acme.example", "casey@example.com")
    assert second["In-Reply-To"] == "<customer-f1@acme.example>"
    text = second.text()
    assert "Thank you for your follow-up on SUP-1001" in text
    assert "> Also: does the import fail too?" in text
    assert "Tuesday 24 November, 13:00 EST" in text
    assert "Why does the export fail?" not in text, "only the new point"
    points = await h.scalar(
        "SELECT group_concat(point, ' | ') FROM commitments WHERE kind = 'point' AND met_at IS NULL"
    )
    assert points == "Why does the export fail? | Also: does the import fail too?"
    copy = kind(h, "se-copy")[1]
    assert "] Follow-up:" in copy["Subject"]
    assert "> (new) Also: does the import fail too?" in copy.text()
    assert "New:       1 new point(s)" in copy.text()
    reason = await h.scalar("SELECT reason FROM decisions WHERE step = 'plan:follow-up'")
    assert reason == "1 new point(s), each dated"


async def test_a_follow_up_that_asks_nothing_new_is_only_copied_to_the_se(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    await h.receive(follow_up("f1", "Thanks, see the attached log."))
    await h.receive(follow_up("f2", "Once more:\n\nWhy  does the export fail?"))  # asked before
    assert len(kind(h, "ack")) == 1
    assert len(kind(h, "se-copy")) == 3
    reasons = await h.scalar(
        "SELECT group_concat(reason, ' | ') FROM decisions WHERE step = 'plan:follow-up'"
    )
    assert str(reasons).count("nothing new asked") == 2


async def _resolved(h: Harness, days_ago: float) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    async with h.store.transaction() as db:
        await ledger.resolve(db, await tickets.get(db, 1), h.clock.now())
    h.clock.advance(timedelta(days=days_ago))


async def test_writing_again_on_a_resolved_ticket_reopens_it(h: Harness) -> None:
    await _resolved(h, days_ago=2)  # resolved Monday; the customer writes Wednesday
    await h.receive(follow_up("again", "It broke again tonight. Can you look?"))
    assert await h.scalar("SELECT state FROM tickets") == "new"
    assert await h.scalar("SELECT count(*) FROM tickets") == 1
    reopened = kind(h, "ack")[1]
    assert "We have received it and reopened ticket SUP-1001" in reopened.text()
    assert (reopened["To"], reopened["Cc"]) == ("jane@acme.example", "casey@example.com")
    copy = kind(h, "se-copy")[1]
    assert copy["Subject"].startswith("[SUP-1001] Reopened:")
    assert copy["To"] == "sam@example.com" and copy["Cc"] == "casey@example.com"
    open_dates = await h.scalar(
        "SELECT count(*) FROM commitments WHERE met_at IS NULL AND missed_at IS NULL"
        " AND superseded_by IS NULL AND kind IN ('actionable', 'resolution')"
    )
    assert open_dates == 2, "a reply date and a resolution target again"


async def test_a_thank_you_on_a_resolved_ticket_reopens_nothing(h: Harness) -> None:
    await _resolved(h, days_ago=1)
    await h.receive(follow_up("thanks", "Thanks, that fixed it!"))
    assert await h.scalar("SELECT state FROM tickets") == "resolved"
    assert len(kind(h, "ack")) == 1
    assert "a courtesy on a resolved ticket" in str(
        await h.scalar("SELECT reason FROM decisions WHERE step = 'ticket' AND inbox_id = 2")
    )


async def test_long_after_resolution_a_new_ticket_links_the_old_one(h: Harness) -> None:
    await _resolved(h, days_ago=31)
    await h.receive(follow_up("later", "The export fails again. Is it the same bug?"))
    assert await h.scalar("SELECT count(*) FROM tickets") == 2
    assert await h.scalar("SELECT state FROM tickets WHERE id = 1") == "resolved"
    copy = next(m for m in kind(h, "se-copy") if m["X-Support-Ticket"] == "SUP-1002")
    assert "Mentions:  SUP-1001: the customer wrote in its thread; it was resolved on" in (
        copy.text()
    )
    ack = next(m for m in kind(h, "ack") if m["X-Support-Ticket"] == "SUP-1002")
    assert "[SUP-1002]" in ack["Subject"] and "SUP-1001" not in ack["Subject"]
