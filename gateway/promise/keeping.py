"""``support-gateway report --since DATE``: does the team keep its promises?

For tickets received since DATE, overall, per SE and per account: acknowledged within the target
(1 hour), actionable response by the first date we gave, resolved by the first resolution date,
the ETA hit rate (dates promised to the customer met on time / those that came due; the
resolution *target* is not a promise and does not count) and revised dates sent. "In time" is
out of the tickets whose date has come or whose step is done: one not yet due counts neither way.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from gateway.store import outcomes
from gateway.store.db import read_once

COLUMNS = (
    "scope",
    "name",
    "tickets",
    "acknowledged_in_time",
    "answered_in_time",
    "reply_came_due",
    "answered",
    "resolved_in_time",
    "resolution_came_due",
    "resolved",
    "dates_met",
    "dates_missed",
    "eta_hit_rate",
    "revised_etas",
)


def collect(db_path: str, since: datetime, ack_minutes: int, now: datetime) -> list[dict[str, Any]]:
    """The figures overall, per SE and per account; a ticket counts against "in time" only once
    its date has come (``now``) or the step was done: a ticket not yet due is neither kept nor
    missed."""
    rows = read_once(
        db_path, lambda db: outcomes.tallies(db, [("all", since, None)], ack_minutes, now)
    )
    return figures(rows, ("se", "account"))


def figures(rows: list[outcomes.Tally], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """All of ``rows``, then one group per value of each field of :class:`outcomes.Tally` in
    ``by`` ("week": one per period), in order of name; each group's counts are the sums of its
    rows'."""
    out = [_figures("all", "all", [r.counts for r in rows])]
    for field in by:
        groups: dict[str, list[tuple[int, ...]]] = {}
        for r in rows:
            groups.setdefault(getattr(r, field) or "(none)", []).append(r.counts)
        out.extend(_figures(field, name, groups[name]) for name in sorted(groups))
    return out


def _figures(scope: str, name: str, members: list[tuple[int, ...]]) -> dict[str, Any]:
    sums = [sum(column) for column in zip(*members, strict=True)] or [0] * len(outcomes.COUNTED)
    out: dict[str, Any] = {"scope": scope, "name": name}
    out.update(zip(outcomes.COUNTED, sums, strict=True))
    met, missed = out["dates_met"], out["dates_missed"]
    out["eta_hit_rate"] = round(met / (met + missed), 3) if met + missed else None
    return {column: out[column] for column in COLUMNS}


def render(rows: list[dict[str, Any]]) -> str:
    head = (
        "scope",
        "name",
        "tickets",
        "ack<=1h",
        "answered in time",
        "resolved in time",
        "ETA hit rate",
        "revised",
    )
    lines = [head]
    for r in rows:
        rate = "-" if r["eta_hit_rate"] is None else f"{r['eta_hit_rate']:.0%}"
        lines.append(
            (
                r["scope"],
                r["name"],
                str(r["tickets"]),
                f"{r['acknowledged_in_time']}/{r['tickets']}",
                f"{r['answered_in_time']}/{r['reply_came_due']}",
                f"{r['resolved_in_time']}/{r['resolution_came_due']}",
                rate,
                str(r["revised_etas"]),
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in lines
    )


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2)


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
