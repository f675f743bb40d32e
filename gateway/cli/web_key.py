"""``support-gateway web rotate-key``: a new key for the web view's cookies (every session
ends)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gateway.cli.options import config_arguments, outcome

if TYPE_CHECKING:
    from gateway.core.config import Config


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument(
        "action",
        choices=["rotate-key"],
        help="rotate-key: a new cookie-signing key (from the daemon's next start); every"
        " session ends now",
    )


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.web.passwd import rotate_key

    return outcome(*rotate_key(teams[0][1]))
