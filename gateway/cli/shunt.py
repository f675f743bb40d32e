"""``support-gateway shunt list | retry TICKET``: tickets the scheduler failed on (a bug, a
template). They are retried with backoff on their own; ``retry`` asks for the next pass, after a
fix. The other tickets' dates are never held up by them."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from gateway.cli.options import EXIT_CONFIG, config_arguments, outcome
from gateway.core.clock import Clock
from gateway.core.config import Config
from gateway.store import Db, shunts
from gateway.store.db import write_once


async def run(config: Config, clock: Clock, action: str, key: str | None) -> tuple[int, str]:
    """Return (exit status, text to print)."""
    now = clock.now()
    return await write_once(config.database.target, lambda db: _act(db, now, action, key))


def _act(db: Db, now: datetime, action: str, key: str | None) -> tuple[int, str]:
    if action == "list":
        rows = shunts.listing(db)
        if not rows:
            return 0, "no ticket is shunted"
        return 0, "\n\n".join(
            f"{r.ticket}: {r.attempts} attempt(s) since {r.first_at.isoformat()},"
            f" next {r.retry_at.isoformat()}\n{r.reason.rstrip()}"
            for r in rows
        )
    assert key is not None
    if shunts.retry_now(db, key, now):
        return 0, f"{key} will be tried again at the scheduler's next pass"
    return 1, f"{key} is not shunted"


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("action", choices=["list", "retry"])
    parser.add_argument("ticket", nargs="?", help="the ticket's key, e.g. SUP-1001 (for retry)")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.core.clock import SystemClock

    if args.action == "retry" and not args.ticket:
        print("shunt retry needs the ticket's key", file=sys.stderr)
        return EXIT_CONFIG
    return outcome(*asyncio.run(run(teams[0][1], SystemClock(), args.action, args.ticket)))
