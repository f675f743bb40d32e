"""The operator's commands: ``support-gateway COMMAND``, one module each in this package, and
the table below that names them (``--help`` is made from it).

A command module has ``arguments(parser)`` (its options) and ``main(args, teams) -> int`` (its
exit status). ``teams`` is what it reads of the config, as its :class:`Command` says: nothing,
one team (``--team``, else the file's only one), or every team of the file. Only the module of the
command being run is imported, so ``--help`` and ``--version`` load nothing else.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gateway.cli.options import CONFIG_VARIABLE, DEFAULT_CONFIG, EXIT_CONFIG, problems

if TYPE_CHECKING:
    from gateway.core.config import Config


class Reads(StrEnum):
    """What of the config file a command reads."""

    NOTHING = "nothing"
    ONE_TEAM = "one team"
    EVERY_TEAM = "every team"  # the one --team names, when given


@dataclass(frozen=True)
class Command:
    name: str
    module: str  # gateway.cli.<module>
    help: str
    reads: Reads = Reads.ONE_TEAM


COMMANDS: tuple[Command, ...] = (
    Command("run", "run", "run the daemon", Reads.EVERY_TEAM),
    Command("check-config", "check_config", "validate a config file", Reads.EVERY_TEAM),
    Command(
        "explain",
        "explain",
        "dry run: what the gateway does with a mail, and why (no side effects)",
    ),
    Command("status", "status", "tickets, dates due and overdue, outbox, quarantine"),
    Command("report", "report", "promises kept: acknowledged, answered, resolved"),
    Command(
        "customer-report",
        "customer_report",
        "an account's report of its tickets, as it would go now (--preview)",
    ),
    Command("quarantine", "quarantine", "list, show, retry or release quarantined mail"),
    Command("shunt", "shunt", "list tickets the scheduler failed on, or retry one"),
    Command(
        "passwd", "passwd", "set a person's password for the web view (asks twice, or reads stdin)"
    ),
    Command("web", "web_key", "the web view's keys"),
    Command("erase", "erase", "remove a person's mail and personal data everywhere (GDPR art. 17)"),
    Command("backup", "backup", "copy the database while the daemon runs"),
    Command("restore", "restore", "put a backup in place of the database"),
    Command("migrate", "migrate", "copy the SQLite database into PostgreSQL"),
    Command(
        "config-reference",
        "config_reference",
        "print every config key with its default (Markdown)",
        Reads.NOTHING,
    ),
    Command(
        "simulate",
        "simulate",
        "a year of synthetic traffic through the real pipeline: which dates each policy keeps,"
        " for a few team sizes",
        Reads.NOTHING,
    ),
    Command("demo", "demo", "show the whole story on this machine, end to end", Reads.NOTHING),
)
BY_NAME = {c.name: c for c in COMMANDS}


class CommandModule(Protocol):
    def arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def main(self, args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int: ...


def _module(command: Command) -> CommandModule:
    module: CommandModule = importlib.import_module(f"gateway.cli.{command.module}")
    return module


def parser(only: Command | None = None, names_only: bool = False) -> argparse.ArgumentParser:
    """The command line: every command's options, or only those of ``only`` (or of none, with
    ``names_only``), the others named with their help alone (enough for ``--help``)."""
    p = argparse.ArgumentParser(
        prog="support-gateway",
        description="An email gateway that makes a support team keep its promises.",
        epilog="Every command that reads a config file takes --config FILE, else"
        f" ${CONFIG_VARIABLE}, else {DEFAULT_CONFIG}.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for c in COMMANDS:
        child = sub.add_parser(c.name, help=c.help, description=c.help)
        if c is only or (only is None and not names_only):
            _module(c).arguments(child)
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("support-gateway")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    # Importing makes a great many objects that live as long as the process: collecting
    # garbage among them while importing is a tenth of a command's start-up, and afterwards
    # they are moved out of the collector's way (gc.freeze).
    # (Only in a process of its own: the suite calls main() many times in one.)
    alone = argv is None
    if alone:
        gc.disable()
    try:
        return _main(argv)
    finally:
        gc.enable()


def _started() -> None:
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    named = next((BY_NAME[a] for a in argv if a in BY_NAME), None)
    args = parser(only=named, names_only=named is None).parse_args(argv)
    command = BY_NAME[args.command]
    if command.reads is Reads.NOTHING:
        module = _module(command)
        _started()
        return module.main(args, [])
    if args.config is None:
        from gateway.cli.options import default_config

        args.config = default_config()
        if not Path(args.config).exists():
            print(
                f"no config file at {args.config}: give --config FILE, or set {CONFIG_VARIABLE}",
                file=sys.stderr,
            )
            return EXIT_CONFIG
    from gateway.core.config import ConfigError, load_config, load_teams

    try:
        if command.reads is Reads.EVERY_TEAM and args.team is None:
            teams = load_teams(args.config)
        else:
            teams = [(args.team or "", load_config(args.config, args.team))]
    except ConfigError as exc:
        return problems(args.config, "invalid configuration", exc.problems)
    module = _module(command)
    _started()
    return module.main(args, teams)
