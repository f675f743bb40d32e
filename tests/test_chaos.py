"""The shortened chaos run (the full one is scripts/chaos): 20 SIGKILLs over 200 messages, one
Dovecot restart, a relay that refuses connections and then answers 4xx, one recipient refused
with 5xx throughout; and 20 tickets whose dates were missed before the run, each of which must
get one revised date."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.chaos import Report, run

pytestmark = pytest.mark.dovecot


def sound(report: Report, kills: int) -> None:
    """What every chaos run must show: nothing lost, nothing said twice beyond the window (at
    most one repeat per kill), every missed date revised once, a sound database."""
    assert report.revised == report.overdue == 20, "every missed date revised"
    assert report.revisions_again == 0, "and only once"
    assert report.lost == []
    assert report.duplicate_acks_logic == 0
    assert report.duplicate_acks_window + report.revisions_window <= report.kills == kills
    assert report.integrity == "ok"


async def test_chaos_loses_nothing_and_repeats_nothing_beyond_the_window() -> None:
    with tempfile.TemporaryDirectory(prefix="sgw-chaos-", dir="/tmp") as tmp:
        report = await run(messages=200, kills=20, seed=7, base=Path(tmp), overdue=20)
    print(report.render())
    sound(report, kills=20)
    assert report.dead_letters and all("550" in d for d in report.dead_letters)
    assert report.se_copies_out >= report.messages_in


async def test_chaos_with_three_gateways_on_postgresql_fails_over_and_loses_nothing() -> None:
    """The same, with three daemons on one PostgreSQL database: each kill takes the leader or
    a random gateway; another one leads within the take-over time."""
    with tempfile.TemporaryDirectory(prefix="sgw-chaos-", dir="/tmp") as tmp:
        report = await run(
            messages=120,
            kills=10,
            seed=3,
            base=Path(tmp),
            engine="postgresql",
            gateways=3,
            overdue=20,
        )
    print(report.render())
    sound(report, kills=10)
    assert report.leader_kills >= 1 and len(report.takeovers) == report.leader_kills
    assert max(report.takeovers) < 15, "within database.takeover_seconds (default 15)"
