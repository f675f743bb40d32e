"""``support-gateway restore SOURCE [--force]``: put a backup in place of the database (the
checks and the copy are gateway/cli/backup.py's)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gateway.cli.options import config_arguments, outcome

if TYPE_CHECKING:
    from gateway.core.config import Config


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("source", help="the backup file")
    parser.add_argument(
        "--force", action="store_true", help="replace an existing database (stop the service)"
    )


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.cli.backup import restore

    return outcome(*restore(teams[0][1], args.source, args.force))
