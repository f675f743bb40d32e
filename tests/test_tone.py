"""Urgency and a concern in the customer's words (gateway/mail/tone.py): every labelled sentence of
tests/data/tone.toml, then through the pipeline (harness: real SQLite, real SMTP sink)."""

from __future__ import annotations

import pytest

from gateway.cli.sink import Received
from gateway.mail import tone
from tests.conftest import customer_mail
from tests.harness import Harness
from tests.tone import SET


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


@pytest.mark.parametrize("sentence", SET["urgent"])
def test_urgent(sentence: str) -> None:
    assert tone.urgency("", sentence) == sentence


@pytest.mark.parametrize("sentence", SET["not_urgent"])
def test_not_urgent(sentence: str) -> None:
    assert tone.urgency("", sentence) == ""


@pytest.mark.parametrize("sentence", SET["concern"])
def test_concern(sentence: str) -> None:
    assert tone.concern(sentence) == sentence


@pytest.mark.parametrize("sentence", SET["no_concern"])
def test_no_concern(sentence: str) -> None:
    assert tone.concern(sentence) == ""


async def test_an_urgent_mail_makes_an_urgent_ticket(h: Harness) -> None:
    await h.receive(
        customer_mail(
            1,
            subject="URGENT: production is down",
            body="None of our users can log in since 9am. Please help.",
        )
    )
    [copy] = kind(h, "se-copy")
    assert copy["Subject"].startswith("[SUP-1001] Urgent new:")
    assert "Urgent:    \u201cURGENT: production is down\u201d" in copy.text()
    assert "Priority:  urgent" in copy.text()
    assert await h.scalar("SELECT priority FROM tickets") == "urgent"
    why = await h.joined("SELECT reason FROM decisions WHERE step = 'tone:urgent'")
    assert "production is down" in why


async def test_a_complaint_is_at_risk_and_heard(h: Harness) -> None:
    body = (
        "Hello,\n\nThe export failed again with E42. We are very disappointed with the support"
        " so far, and frankly worried about our future with your company.\n\nJane"
    )
    await h.receive(customer_mail(1, body=body))
    [copy] = kind(h, "se-copy")
    assert copy["Subject"].startswith("[SUP-1001] At risk: New:")
    assert "At risk:   the customer sounds unhappy with us" in copy.text()
    assert "very disappointed" in copy.text()
    [alert] = kind(h, "note")
    assert "casey@example.com" in alert["To"] and "lee@example.com" in alert["To"]
    assert "At risk" in alert["Subject"]
    [ack] = kind(h, "ack")
    assert "we take your concern seriously" in ack.text()
    assert "Casey Consultant, who looks after your account, knows of it" in ack.text()
    assert await h.scalar("SELECT at_risk FROM tickets") != ""


async def test_a_plain_report_is_neither(h: Harness) -> None:
    await h.receive(customer_mail(1))
    [copy] = kind(h, "se-copy")
    assert "Urgent" not in copy["Subject"] and "At risk" not in copy.text()
    assert kind(h, "note") == []
    assert "concern" not in kind(h, "ack")[0].text()


async def test_a_deadline_the_customer_states_is_read_and_a_later_date_alerts(
    h: Harness,
) -> None:
    """Jane writes on Monday 10:00 that she needs it before Thursday's launch: the resolution
    target (Friday) falls after it, so Sam and Casey hear at once, and Sam's copy says so."""
    body = (
        "Hello,\n\nThe export fails with E42. We need this fixed before our launch on"
        " Thursday 26 November. Can you help?\n\nJane"
    )
    await h.receive(customer_mail(1, body=body))
    [copy] = kind(h, "se-copy")
    assert "Deadline:  the customer's: Thursday 26 November, 17:00 EST" in copy.text()
    assert "after it: the resolution target, Friday 27 November, 10:00 EST" in copy.text()
    [alert] = kind(h, "note")
    assert (alert["To"], alert["Cc"]) == ("sam@example.com", "casey@example.com")
    assert "After the customer's deadline" in alert["Subject"]
    assert "needs SUP-1001 by Thursday 26 November, 17:00 EST" in alert.text()
    assert await h.scalar("SELECT deadline_said FROM tickets") == (
        "We need this fixed before our launch on Thursday 26 November."
    )
    # A later mail that states a later deadline keeps the earlier one.
    ack = kind(h, "ack")[0]
    await h.receive(
        customer_mail(
            2, body="We could live with it by 4 December if need be.", in_reply_to=ack["Message-ID"]
        )
    )
    assert str(await h.scalar("SELECT deadline_at FROM tickets")).startswith("2026-11-26T22:00")


async def test_a_deadline_we_can_keep_is_shown_without_an_alert(h: Harness) -> None:
    body = "Hello,\n\nWe need the export report by 4 December. Why does it fail with E42?\n"
    await h.receive(customer_mail(1, body=body))
    [copy] = kind(h, "se-copy")
    assert "Deadline:  the customer's: Friday 4 December, 17:00 EST" in copy.text()
    assert "after it" not in copy.text()
    assert kind(h, "note") == []
