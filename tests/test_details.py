"""The details an acknowledgement asks a fault report for, only when it lacks them (pure, and
once end to end)."""

from __future__ import annotations

import pytest

from gateway.text.details import Detail, missing
from tests.conftest import customer_mail
from tests.harness import Harness

ALL = list(Detail)
VERSION = "which version of exports you are running"
ERROR = "the exact error message (a screenshot is fine)"
SINCE = "when it started, and whether anything changed just before"


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("The export fails. Can you help?", [VERSION, ERROR, SINCE]),
        ("Our nightly export fails with error E42 since this morning.", [VERSION]),
        ('Export crashed after the upgrade to 4.2: "disk quota exceeded".', []),
        ("Since Monday 4.2.1 gives HTTP 500 on every export.", []),
        ("No view-only accounts", []),  # a request, not a fault: nothing to ask
        ("Can I get a copy of last month's invoice?", []),
    ],
)
def test_only_what_a_fault_report_lacks(text: str, asks: list[str]) -> None:
    assert missing(text, ALL, "exports") == asks


def test_the_configured_list_decides() -> None:
    assert missing("The export fails.", [Detail.ERROR], "exports") == [ERROR]
    assert missing("The export fails.", [], "exports") == []


async def test_the_acknowledgement_asks_for_what_is_missing(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Hello,\n\nThe nightly export fails. Can you help?"))
    ack = next(m for m in h.sink.messages if m["X-Support-Kind"] == "ack").text()
    # Jane's ticket has no product: the question names none.
    assert "could you tell us which version of our software you are running" in " ".join(
        ack.split()
    )
    assert "when it started" in ack
