"""How a mail begins: a first name only when the display name gives one we can trust (pure)."""

from __future__ import annotations

import pytest

from gateway.mail.points import stated_problem
from gateway.text.greeting import greeting


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [
        ("Payne, Richard", "Dear Richard,"),  # surname first, as address books write it
        ("Richard Payne", "Dear Richard,"),
        ("Dr. Maria Lopez-Garcia", "Dear Maria,"),
        ("O'Brien, Seán", "Dear Seán,"),
        ("Jean-Luc Picard", "Dear Jean-Luc,"),
        ("José", "Dear José,"),
        ("ACME Support Team", "Hello,"),  # an organisation
        ("Sales Dept", "Hello,"),
        ("Info", "Hello,"),  # a mailbox's purpose
        ("r.payne@acme.example", "Hello,"),
        ("r.payne", "Hello,"),
        ("jane", "Hello,"),  # not written as a name
        ("JANE DOE", "Hello,"),
        ("J. Smith", "Hello,"),  # an initial is not a name to greet
        ("Mr Smith", "Hello,"),
        ("Bob2", "Hello,"),
        ("=?utf-8?q?x?=", "Hello,"),
        ("", "Hello,"),
    ],
)
def test_greeting(display_name: str, expected: str) -> None:
    assert greeting(display_name) == expected


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "Hello Support,\n\nOur nightly export fails with error E42 since this morning.\n\n"
            "Why does the export fail?\n\nJane",
            "Our nightly export fails with error E42 since this morning.",
        ),
        (
            "Hi team, the dashboard is blank after the update. Can you help?",
            "The dashboard is blank after the update.",
        ),
        ("No view-only accounts", "No view-only accounts"),
        ("Why does the export fail?", ""),
        ("Thanks in advance.", ""),
        ("- the export fails\n- the import fails", ""),  # a list is points, not a statement
    ],
)
def test_the_stated_problem(body: str, problem: str) -> None:
    assert stated_problem(body) == problem
