"""``support-gateway run``: the daemon, for every team of the config file (or the one --team
names), until SIGTERM; systemd starts it (deploy/support-gateway.service)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from typing import TYPE_CHECKING

from gateway.cli.options import EXIT_LEASE_LOST, config_arguments, problems

if TYPE_CHECKING:
    from gateway.core.config import Config


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument(
        "--log-format", choices=["plain", "json"], help="override log.format from the config"
    )
    parser.add_argument(
        "--backfill",
        metavar="SINCE",
        type=date.fromisoformat,
        help="also take mail already in the mailbox since this date (YYYY-MM-DD)",
    )


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    missing = [(f"{n}: {k}" if n else k, m) for n, c in teams for k, m in c.secret_problems()]
    if missing:  # not an outage to wait out: nothing would ever log in
        return problems(args.config, "refusing to start", missing)
    from gateway.core.clock import SystemClock
    from gateway.core.log import setup

    config = teams[0][1]
    setup(config.log.level, args.log_format or config.log.format)
    from gateway.daemon.app import Gateway, StartRefused
    from gateway.daemon.service import run_all

    clock = SystemClock()
    gateways = [Gateway(c, clock, backfill_since=args.backfill, team=n) for n, c in teams]
    try:
        asyncio.run(run_all(gateways, args.config))
    except StartRefused as exc:
        return problems(args.config, "refusing to start", exc.problems)
    if any(gateway.lease_lost.is_set() for gateway in gateways):
        print("lost the lead of the database: exiting to start again as a worker", file=sys.stderr)
        return EXIT_LEASE_LOST
    return 0
