"""What the customer tells us is heard: a request without a question mark is a point, and a
follow-up with news while we owe a reply is acknowledged with the date that stands (harness:
real SQLite, real SMTP sink, fake clock)."""

from __future__ import annotations

import pytest

from gateway.cli.sink import Received
from gateway.mail.points import extract, is_request
from tests.conftest import customer_mail, relay_reply
from tests.harness import Harness


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


@pytest.mark.parametrize(
    "sentence",
    [
        "Please tell me how to schedule the import.",
        "I need the logs of Monday's run.",
        "Could you advise whether 4.2 fixes it.",
        "Let us know when the fix ships.",
        "Bitte senden Sie uns die Rechnung.",
        "Merci de nous envoyer le correctif.",
        "Por favor envíenos el registro.",
    ],
)
def test_a_request_without_a_question_mark_is_a_point(sentence: str) -> None:
    assert is_request(sentence)
    assert extract(f"Hello,\n\nThe import failed again. {sentence}\n\nJane") == [sentence]


@pytest.mark.parametrize(
    "sentence",
    [
        "Let me know if you need anything else.",
        "Please find attached the log.",
        "Thanks in advance for your help.",
        "Please note that we run 4.1.",
    ],
)
def test_a_closing_courtesy_is_no_request(sentence: str) -> None:
    assert not is_request(sentence)
    assert extract(f"The import failed with E17. {sentence}") == []


async def test_a_request_gets_its_own_date_in_the_acknowledgement(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Please tell me how to schedule the import.\n"))
    [ack] = kind(h, "ack")
    assert "Please tell me how to schedule the import." in ack.text()
    assert await h.scalar("SELECT count(*) FROM commitments WHERE kind = 'point'") == 1


async def test_news_on_an_open_ticket_is_acknowledged_with_the_date_that_stands(
    h: Harness,
) -> None:
    await h.receive(customer_mail(1))
    due = await h.scalar("SELECT owed_at FROM tickets")
    first = kind(h, "ack")[0]
    news = customer_mail(
        2,
        subject="Re: " + first["Subject"],
        body="We rebuilt the index last night, but the import failed again with error E17.",
        in_reply_to=first["Message-ID"],
    )
    await h.receive(news)
    acks = kind(h, "ack")
    assert len(acks) == 2
    assert "we have added it to ticket SUP-1001" in acks[1].text()
    assert acks[1]["To"] == "jane@acme.example"
    assert await h.scalar("SELECT owed_at FROM tickets") == due  # no new date: the same one
    # A thank-you gets none.
    await h.receive(
        customer_mail(3, subject="Re: x", body="Thanks!", in_reply_to=first["Message-ID"])
    )
    assert len(kind(h, "ack")) == 2


async def test_staff_mail_names_the_customers_time_as_theirs(h: Harness) -> None:
    """Jane writes from UTC+01:00: her acknowledgement says "your time"; Sam's copy of the same
    dates says it is the customer's time, never "your time" (it is not Sam's)."""
    from datetime import timedelta, timezone

    from tests.conftest import MONDAY_10

    berlin = MONDAY_10.astimezone(timezone(timedelta(hours=1)))
    await h.receive(customer_mail(1, date=berlin, body="Why does the export fail with E42?"))
    [ack] = [m for m in h.sink.messages if m["X-Support-Kind"] == "ack"]
    [copy] = [m for m in h.sink.messages if m["X-Support-Kind"] == "se-copy"]
    assert "(16:00 your time, UTC+01:00)" in ack.text()
    assert "(16:00 for the customer, UTC+01:00)" in copy.text()
    assert "your time" not in copy.text() and "your time" not in copy.html()
    # Sam's confirmation lists her point with its date: the team's time, it is Sam's mail.
    await h.receive(relay_reply(copy, "Hello Jane,", n="greet"))
    [confirm] = [m for m in h.sink.messages if m["X-Support-Kind"] == "se-confirm"]
    assert "open, due Tuesday 24 November, 10:00 EST" in " ".join(confirm.text().split())
    assert "your time" not in confirm.text()
