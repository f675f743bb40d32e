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
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gateway.store import outcomes
from gateway.store.db import read_once, ts

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
    rows = read_once(db_path, lambda db: outcomes.per_ticket(db, since))
    return figures(rows, ack_minutes, now, ("se", "account"))


def figures(
    rows: list[outcomes.TicketOutcome],
    ack_minutes: int,
    now: datetime,
    by: tuple[str, ...],
    key: Callable[[outcomes.TicketOutcome, str], str] | None = None,
) -> list[dict[str, Any]]:
    """All of ``rows``, then one group per value of each field in ``by`` (``key`` names a
    ticket's group for a field; the field's value by default)."""
    name_of = key or (lambda r, field: str(getattr(r, field)) or "(none)")
    at = ts(now)
    # Each ticket's counts once; a group's figures are the column sums of its members'.
    counts = [_counts(r, ack_minutes, at) for r in rows]
    groups: dict[tuple[str, str], list[tuple[int, ...]]] = {("all", "all"): counts}
    for field in by:
        for r, c in zip(rows, counts, strict=True):
            groups.setdefault((field, name_of(r, field)), []).append(c)
    return [_figures(scope, name, members) for (scope, name), members in groups.items()]


def _within(a: str | None, b: str | None, minutes: float | None = None) -> bool:
    if a is None or b is None:
        return False
    if minutes is None:
        return a <= b  # both stored as UTC ISO text: text order is time order
    delta = datetime.fromisoformat(a) - datetime.fromisoformat(b)
    return delta.total_seconds() <= minutes * 60


def _came_due(done: str | None, due: str | None, now: str) -> bool:
    return done is not None or (due is not None and due <= now)


# What :func:`_counts` counts for a ticket, in order: the report's columns that are sums.
_COUNTED = tuple(c for c in COLUMNS if c not in ("scope", "name", "eta_hit_rate"))


def _counts(r: outcomes.TicketOutcome, ack_minutes: int, now: str) -> tuple[int, ...]:
    # (ints, not bools: sum() adds ints fastest)
    return tuple(
        map(
            int,
            (
                1,
                _within(r.acked, r.received_at, ack_minutes),
                _within(r.responded_at, r.first_reply_due),
                _came_due(r.responded_at, r.first_reply_due, now),
                r.responded_at is not None,
                _within(r.resolved_at, r.first_resolution_due),
                _came_due(r.resolved_at, r.first_resolution_due, now),
                r.resolved_at is not None,
                r.met,
                r.missed,
                r.revised,
            ),
        )
    )


def _figures(scope: str, name: str, members: list[tuple[int, ...]]) -> dict[str, Any]:
    sums = [sum(column) for column in zip(*members, strict=True)] or [0] * len(_COUNTED)
    out: dict[str, Any] = {"scope": scope, "name": name, **dict(zip(_COUNTED, sums, strict=True))}
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
