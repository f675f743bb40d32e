"""What the operator's commands share: the config options, instants on the command line, exit
statuses and how an outcome is printed."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from datetime import date, datetime

EXIT_CONFIG = 2  # a bad config or command line: nothing to retry
EXIT_LEASE_LOST = 75  # EX_TEMPFAIL: systemd (Restart=on-failure) starts it again, as a worker

DEFAULT_CONFIG = "/etc/support-gateway/support-gateway.toml"
CONFIG_VARIABLE = "SUPPORT_GATEWAY_CONFIG"


def default_config() -> str:
    """The config file a command reads without ``--config``: $SUPPORT_GATEWAY_CONFIG, else the
    one the install puts in /etc."""
    return os.environ.get(CONFIG_VARIABLE) or DEFAULT_CONFIG


def config_arguments(parser: argparse.ArgumentParser, help: str = "TOML config file") -> None:
    parser.add_argument(
        "--config",
        default=None,
        help=f"{help} (default: ${CONFIG_VARIABLE}, else {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--team",
        help="a config file with [[teams]] serves several: the one to act on (run and"
        " check-config take them all when it is not given)",
    )


def instant(text: str) -> datetime:
    """An ISO 8601 instant, which must say its UTC offset."""
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} needs a UTC offset, e.g. 2026-11-25T16:30-05:00"
        )
    return t


def instant_or_date(text: str) -> date | datetime:
    return instant(text) if "T" in text else date.fromisoformat(text)


def problems(path: str, title: str, found: Iterable[tuple[str, str]]) -> int:
    """Print what is wrong, key by key, on stderr; the exit status for it."""
    print(f"{path}: {title}", file=sys.stderr)
    for key, msg in found:
        print(f"  {key}: {msg}", file=sys.stderr)
    return EXIT_CONFIG


def outcome(status: int, text: str) -> int:
    """Print a command's outcome (stdout when it went well, else stderr); its exit status."""
    print(text, file=sys.stdout if status == 0 else sys.stderr)
    return status
