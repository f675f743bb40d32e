"""``support-gateway report --since DATE``: does the team keep its promises? (The figures are
gateway/promise/keeping.py's, which the web view shows too.)"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from gateway.cli.options import config_arguments, instant_or_date

if TYPE_CHECKING:
    from gateway.core.config import Config


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument(
        "--since",
        required=True,
        type=instant_or_date,
        help="tickets received since (YYYY-MM-DD, support time zone, or ISO)",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON output")
    out.add_argument("--csv", action="store_true", help="CSV output")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from zoneinfo import ZoneInfo

    from gateway.core.clock import SystemClock
    from gateway.promise import keeping

    config = teams[0][1]
    since = args.since
    if not isinstance(since, datetime):
        since = datetime.combine(since, datetime.min.time(), ZoneInfo(config.hours.timezone))
    try:
        rows = keeping.collect(
            config.database.target, since, config.sla.acknowledge_minutes, SystemClock().now()
        )
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.json:
        print(keeping.to_json(rows))
    elif args.csv:
        print(keeping.to_csv(rows), end="")
    else:
        print(keeping.render(rows))
    return 0
