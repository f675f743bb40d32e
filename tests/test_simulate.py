"""The simulator's short version (the year is ``scripts/simulate``): a fortnight of an overloaded
team through the real pipeline and scheduler, both policies, on the same traffic."""

from __future__ import annotations

import pytest

from gateway.cli import main


def rows(out: str) -> dict[str, dict[str, str]]:
    lines = out.strip().splitlines()
    head = [h.strip() for h in _cells(lines[0])]
    return {cells[0]: dict(zip(head, cells, strict=True)) for cells in map(_cells, lines[2:])}


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("  ") if c.strip()]


def pct(cell: str) -> float:
    return float(cell.strip().rstrip("%"))


def test_an_overloaded_team_keeps_more_dates_with_fewer_revisions_when_dates_are_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two SEs for 32 tickets a business day (early in a quarter, the quiet weeks: some 22): about
    # 1.6 times what they can answer.
    args = ["--days", "7", "--ses", "2", "--tickets-per-day", "32", "--jobs", "2"]
    assert main(["simulate", *args]) == 0
    table = rows(capsys.readouterr().out)
    fixed, checked = table["fixed"], table["capacity"]
    assert fixed["tickets"] == checked["tickets"], "the same traffic for both"
    assert int(fixed["tickets"]) > 80
    assert fixed["ack<=1h"] == checked["ack<=1h"] == "100.0%"
    # The simulated SEs' replies answer (the gateway reads them so): most first replies come by
    # the policy's target, and a missed date is the exception (with replies that read as a
    # greeting alone, no reply counted: 0% and some five revised dates a ticket).
    assert pct(fixed["reply<=target"]) > 50 and float(fixed["revised/100"]) < 100
    # Today's policy promises the next business day whatever the queue, and misses.
    assert pct(fixed["dates<=target"]) == 100.0 and pct(fixed["kept"]) < 80
    # Checked dates are later when they must be, kept more often, revised less.
    assert pct(checked["dates<=target"]) < 100.0
    assert pct(checked["kept"]) >= pct(fixed["kept"]) + 10
    assert float(checked["revised/100"]) < float(fixed["revised/100"]) / 2
    assert float(checked["median date (bh)"]) > float(fixed["median date (bh)"])
