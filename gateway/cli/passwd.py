"""``support-gateway passwd ADDRESS [--stdin]``: a person's password for the web view."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gateway.cli.options import config_arguments, outcome

if TYPE_CHECKING:
    from gateway.core.config import Config


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("address", help="the person's address, as in [[people]]")
    parser.add_argument(
        "--stdin", action="store_true", help="read the password from the first line of stdin"
    )


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.web.passwd import set_password

    return outcome(*set_password(teams[0][1], args.address, args.stdin))
