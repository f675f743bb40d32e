"""``support-gateway status``: what needs attention now, from the database (read-only)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from gateway.cli.options import config_arguments
from gateway.core.clock import local_time
from gateway.store import figures, outbox, shunts
from gateway.store.db import Db, is_postgres, read_once, ts

if TYPE_CHECKING:
    from gateway.core.config import Config


def collect(db_path: str, now: datetime) -> dict[str, Any]:
    figures_ = read_once(db_path, lambda db: _collect(db, now))
    if is_postgres(db_path):  # several gateways may share it: which one works now
        from gateway.store import lease

        figures_["leader"] = lease.leader(db_path)
    return figures_


def _collect(db: Db, now: datetime) -> dict[str, Any]:
    overdue, soon = figures.dates_owed(db, now)
    out = figures.outgoing(db)
    return {
        "at": now.isoformat(),
        "tickets": figures.tickets_by_state(db),
        "commitments": {"overdue": overdue, "due_within_24h": soon, **figures.dates(db)},
        "outbox": {
            "queued": out.queued,
            "oldest_queued": ts(out.oldest_queued) if out.oldest_queued else None,
            "dead": out.dead,
            "sent": out.sent,
        },
        "inbox": figures.inbound(db),
        "shunted": [
            {
                "ticket": s.ticket,
                "attempts": s.attempts,
                "since": ts(s.first_at),
                "last": ts(s.last_at),
                "retry_at": ts(s.retry_at),
                "reason": (s.reason or "").strip().splitlines()[-1],
            }
            for s in shunts.listing(db)
        ],
        "blocked": [
            {"address": b.address, "until": ts(b.until), "ticket": b.ticket, "reason": b.reason}
            for b in outbox.blocks(db, now)
        ],
    }


def render(s: dict[str, Any], tz: tzinfo = UTC) -> str:
    """For people: every time in the team's zone, with the zone's name."""

    def at(value: str | None) -> str:
        return local_time(datetime.fromisoformat(value), tz) if value else "-"

    t, c, o, i = s["tickets"], s["commitments"], s["outbox"], s["inbox"]
    states = ", ".join(f"{k} {v}" for k, v in sorted(t.items())) or "none"
    return "\n".join(
        [
            f"status at {at(s['at'])}",
            *(
                [f"leader:       {s['leader'] or 'none: no gateway is running'}"]
                if "leader" in s
                else []
            ),
            f"tickets:      {states}",
            f"dates:        {c['overdue']} overdue, {c['due_within_24h']} due within 24 h, "
            f"{c['open']} open; {c['met']} met, {c['missed']} missed so far",
            f"outbox:       {o['queued']} queued (oldest {at(o['oldest_queued'])}), "
            f"{o['dead']} dead letters, {o['sent']} sent",
            f"inbox:        {i['waiting']} waiting to be processed ({i['held']} held after"
            f" internal errors), {i['quarantined']} quarantined, {i['spam']} kept as spam",
            f"shunted:      {len(s['shunted'])} ticket(s) the scheduler failed on"
            + "".join(
                f"\n  {x['ticket']}: {x['attempts']} attempt(s) since {at(x['since'])},"
                f" next {at(x['retry_at'])}: {x['reason']}"
                for x in s["shunted"]
            ),
            f"blocked:      {len(s['blocked'])} address(es) a bounce of our mail proved"
            " undeliverable (lift one on the web view's operations)"
            + "".join(
                f"\n  {b['address']} until {at(b['until'])} ({b['ticket'] or 'no ticket'}):"
                f" {b['reason']}"
                for b in s["blocked"]
            ),
        ]
    )


def to_json(s: dict[str, Any]) -> str:
    return json.dumps(s, indent=2)


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from zoneinfo import ZoneInfo

    from gateway.core.clock import SystemClock

    config = teams[0][1]
    try:
        figures = collect(config.database.target, SystemClock().now())
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    zone = ZoneInfo(config.hours.timezone)
    print(to_json(figures) if args.json else render(figures, zone))
    return 0
