"""Deadlines in the customer's words (gateway/mail/deadline.py): pure logic, no servers."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from gateway.mail.deadline import stated

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = datetime(2026, 11, 23, 10, 15, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("We need this fixed before our launch on 12 December.", "2026-12-12"),
        ("Please fix it by Friday.", "2026-11-27"),
        ("Could you send the patch by next Friday?", "2026-11-27"),
        ("The deadline is December 4th.", "2026-12-04"),
        ("Please reply by 2026-12-01, our board meets then.", "2026-12-01"),
        ("We need it by the end of next week.", "2026-12-04"),
        ("Any chance to have it by tomorrow?", "2026-11-24"),
        ("Wir brauchen das bis Freitag.", "2026-11-27"),
        ("Bitte spätestens am 3. Dezember.", "2026-12-03"),
        ("Lo necesitamos antes del 12 de diciembre.", "2026-12-12"),
        ("We need it before 10 January for the audit.", "2027-01-10"),
    ],
)
def test_a_stated_deadline(text: str, day: str) -> None:
    found = stated(text, MONDAY, NEW_YORK, time(17))
    assert found is not None, text
    assert found.at == datetime.fromisoformat(f"{day}T17:00").replace(tzinfo=NEW_YORK)
    assert found.sentence == text


@pytest.mark.parametrize(
    "text",
    [
        "Our export fails with error E42. Can you help?",
        "I wrote the script by hand.",
        "It worked until yesterday.",
        "It broke before the update on 2026-11-20.",  # a day gone by
        "By the way, the export fails.",
        "Is it fixed by 4.2?",  # a version, not a day
        "It fails until 3 users log in.",
        "We have been waiting since Monday.",
    ],
)
def test_no_deadline(text: str) -> None:
    assert stated(text, MONDAY, NEW_YORK, time(17)) is None
