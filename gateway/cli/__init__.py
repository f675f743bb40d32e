"""support-gateway: an email gateway that makes a support team keep its promises.

Every command but demo, simulate and config-reference reads the config file given by
--config, else $SUPPORT_GATEWAY_CONFIG, else /etc/support-gateway/support-gateway.toml.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import smtplib
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.core.clock import SystemClock

if TYPE_CHECKING:
    from gateway.core.config import Config

# What a command needs is imported by the command: --help and --version load nothing else.

EXIT_CONFIG = 2
EXIT_LEASE_LOST = 75  # EX_TEMPFAIL: systemd (Restart=on-failure) starts it again, as a worker


def _instant_or_date(text: str) -> date | datetime:
    return _instant(text) if "T" in text else date.fromisoformat(text)


def _instant(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} needs a UTC offset, e.g. 2026-11-25T16:30-05:00"
        )
    return t


DEFAULT_CONFIG = "/etc/support-gateway/support-gateway.toml"
CONFIG_VARIABLE = "SUPPORT_GATEWAY_CONFIG"


def default_config() -> str:
    """The config file a command reads without ``--config``: $SUPPORT_GATEWAY_CONFIG, else the
    one the install puts in /etc."""
    return os.environ.get(CONFIG_VARIABLE) or DEFAULT_CONFIG


def _config_arguments(parser: argparse.ArgumentParser, help: str) -> None:
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="support-gateway", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    _config_arguments(run, "TOML config file")
    run.add_argument(
        "--log-format", choices=["plain", "json"], help="override log.format from the config"
    )
    run.add_argument(
        "--backfill",
        metavar="SINCE",
        type=date.fromisoformat,
        help="also take mail already in the mailbox since this date (YYYY-MM-DD)",
    )

    check = sub.add_parser("check-config", help="validate a config file")
    _config_arguments(check, "TOML config file")
    check.add_argument("--connect", action="store_true", help="also log in to IMAP and SMTP")

    explain = sub.add_parser(
        "explain", help="dry run: what the gateway does with a mail, and why (no side effects)"
    )
    _config_arguments(explain, "TOML config file")
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    explain.add_argument(
        "--at",
        type=_instant,
        help="take the mail as received at this instant (ISO 8601 with offset; default: now)",
    )
    explain.add_argument("message", help="the mail as an .eml file (RFC 5322)")

    quarantine = sub.add_parser("quarantine", help="list, show, retry or release quarantined mail")
    _config_arguments(quarantine, "TOML config file")
    quarantine.add_argument("action", choices=["list", "show", "retry", "release"])
    quarantine.add_argument("id", nargs="?", type=int, help="the message's id (from list)")

    shunt = sub.add_parser("shunt", help="list tickets the scheduler failed on, or retry one")
    _config_arguments(shunt, "TOML config file")
    shunt.add_argument("action", choices=["list", "retry"])
    shunt.add_argument("ticket", nargs="?", help="the ticket's key, e.g. SUP-1001 (for retry)")

    status = sub.add_parser("status", help="tickets, dates due and overdue, outbox, quarantine")
    _config_arguments(status, "TOML config file")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    report = sub.add_parser("report", help="promises kept: acknowledged, answered, resolved")
    _config_arguments(report, "TOML config file")
    report.add_argument(
        "--since",
        required=True,
        type=_instant_or_date,
        help="tickets received since (YYYY-MM-DD, support time zone, or ISO)",
    )
    out = report.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON output")
    out.add_argument("--csv", action="store_true", help="CSV output")

    passwd = sub.add_parser(
        "passwd", help="set a person's password for the web view (asks twice, or reads stdin)"
    )
    _config_arguments(passwd, "TOML config file")
    passwd.add_argument("address", help="the person's address, as in [[people]]")
    passwd.add_argument(
        "--stdin", action="store_true", help="read the password from the first line of stdin"
    )

    web = sub.add_parser("web", help="the web view's keys")
    _config_arguments(web, "TOML config file")
    web.add_argument(
        "action",
        choices=["rotate-key"],
        help="rotate-key: a new cookie-signing key (from the daemon's next start); every"
        " session ends now",
    )

    erase = sub.add_parser(
        "erase", help="remove a person's mail and personal data everywhere (GDPR art. 17)"
    )
    _config_arguments(erase, "TOML config file")
    erase.add_argument("--address", required=True, help="the person's email address")
    erase.add_argument(
        "--no-vacuum",
        action="store_true",
        help="do not rewrite the database afterwards (faster; removed content may linger)",
    )

    backup = sub.add_parser("backup", help="copy the database while the daemon runs")
    _config_arguments(backup, "TOML config file")
    backup.add_argument("dest", help="the new file to write")

    restore = sub.add_parser("restore", help="put a backup in place of the database")
    _config_arguments(restore, "TOML config file")
    restore.add_argument("source", help="the backup file")
    restore.add_argument(
        "--force", action="store_true", help="replace an existing database (stop the service)"
    )

    migrate = sub.add_parser("migrate", help="copy the SQLite database into PostgreSQL")
    _config_arguments(migrate, "TOML config file (its SQLite file)")
    migrate.add_argument("--to", required=True, help="postgresql://... (an empty database)")

    sub.add_parser("config-reference", help="print every config key with its default (Markdown)")

    sim = sub.add_parser(
        "simulate",
        help="a year of synthetic traffic through the real pipeline: which dates each policy"
        " keeps, for a few team sizes",
    )
    sim.add_argument("--config", help="take hours, sla and capacity from this config file")
    sim.add_argument("--days", type=int, default=365, help="simulated days (default 365)")
    sim.add_argument("--ses", default="3,4,5", help="team sizes to compare (default 3,4,5)")
    sim.add_argument(
        "--tickets-per-day", type=float, default=19.0, help="new tickets a business day (19)"
    )
    sim.add_argument("--seed", type=int, default=1, help="the random seed (same seed, same run)")
    sim.add_argument("--jobs", type=int, default=1, help="runs in parallel processes (default 1)")
    sim.add_argument(
        "--start", type=date.fromisoformat, default=date(2026, 1, 5), help="the first day"
    )

    sub.add_parser("demo", help="show the whole story on this machine, end to end")
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("support-gateway")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "config", "") is None and args.command != "simulate":
        args.config = default_config()
        if not Path(args.config).exists():
            print(
                f"no config file at {args.config}: give --config FILE, or set {CONFIG_VARIABLE}",
                file=sys.stderr,
            )
            return EXIT_CONFIG
    if args.command == "config-reference":
        from gateway.core.config import reference_table

        print(reference_table())
        return 0
    if args.command == "demo":
        from gateway.cli.demo import run_demo

        return asyncio.run(run_demo())
    if args.command == "simulate":
        return _simulate(args)
    from gateway.core.config import ConfigError, load_config, load_teams

    try:
        # run and check-config take every team of the file; the others one team (--team).
        if args.command in ("run", "check-config") and args.team is None:
            teams = load_teams(args.config)
        else:
            teams = [(args.team or "", load_config(args.config, args.team))]
    except ConfigError as exc:
        print(f"{args.config}: invalid configuration", file=sys.stderr)
        for key, msg in exc.problems:
            print(f"  {key}: {msg}", file=sys.stderr)
        return EXIT_CONFIG
    config = teams[0][1]
    if args.command == "check-config":
        return max(
            check_config(c, args.config + (f" (team {name})" if name else ""), args.connect)
            for name, c in teams
        )
    if args.command == "report":
        from zoneinfo import ZoneInfo

        from gateway.promise import keeping as report_mod

        since = args.since
        if not isinstance(since, datetime):
            since = datetime.combine(since, datetime.min.time(), ZoneInfo(config.hours.timezone))
        try:
            rows = report_mod.collect(
                config.database.target, since, config.sla.acknowledge_minutes, SystemClock().now()
            )
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 1
        if args.json:
            print(report_mod.to_json(rows))
        elif args.csv:
            print(report_mod.to_csv(rows), end="")
        else:
            print(report_mod.render(rows))
        return 0
    if args.command == "status":
        from gateway.cli import status as status_mod

        try:
            figures = status_mod.collect(config.database.target, SystemClock().now())
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 1
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(config.hours.timezone)
        print(status_mod.to_json(figures) if args.json else status_mod.render(figures, zone))
        return 0
    if args.command == "quarantine":
        from gateway.cli import quarantine

        if args.action != "list" and args.id is None:
            print(f"quarantine {args.action} needs the message's id", file=sys.stderr)
            return EXIT_CONFIG
        status, text = asyncio.run(quarantine.run(config, SystemClock(), args.action, args.id))
        print(text, file=sys.stdout if status == 0 else sys.stderr)
        return status
    if args.command == "shunt":
        from gateway.cli import shunt as shunt_mod

        if args.action == "retry" and not args.ticket:
            print("shunt retry needs the ticket's key", file=sys.stderr)
            return EXIT_CONFIG
        status, text = asyncio.run(shunt_mod.run(config, SystemClock(), args.action, args.ticket))
        print(text, file=sys.stdout if status == 0 else sys.stderr)
        return status
    if args.command == "erase":
        from gateway.cli import erase as erase_mod

        gone = asyncio.run(
            erase_mod.erase(config, SystemClock(), args.address, vacuum=not args.no_vacuum)
        )
        print(erase_mod.render(args.address.strip().lower(), gone, not args.no_vacuum))
        return 0
    if args.command in ("backup", "restore"):
        from gateway.cli import backup as backup_mod

        status, text = (
            backup_mod.backup(config, args.dest)
            if args.command == "backup"
            else backup_mod.restore(config, args.source, args.force)
        )
        print(text, file=sys.stdout if status == 0 else sys.stderr)
        return status
    if args.command == "migrate":
        from gateway.cli.migrate import migrate as migrate_to

        status, text = migrate_to(config, args.to)
        print(text, file=sys.stdout if status == 0 else sys.stderr)
        return status
    if args.command == "passwd":
        from gateway.web.passwd import set_password

        status, text = set_password(config, args.address, args.stdin)
        print(text, file=sys.stdout if status == 0 else sys.stderr)
        return status
    if args.command == "web":
        from gateway.web.passwd import rotate_key

        status, text = rotate_key(config)
        print(text, file=sys.stdout if status == 0 else sys.stderr)
        return status
    if args.command == "explain":
        from gateway.cli.explain import explain, render_text, to_json

        raw = Path(args.message).read_bytes()
        report = asyncio.run(explain(config, raw, args.at or SystemClock().now()))
        print(to_json(report) if args.json else render_text(report))
        return 0
    missing = [(f"{n}: {k}" if n else k, m) for n, c in teams for k, m in c.secret_problems()]
    if missing:  # not an outage to wait out: nothing would ever log in
        print(f"{args.config}: refusing to start", file=sys.stderr)
        for key, msg in missing:
            print(f"  {key}: {msg}", file=sys.stderr)
        return EXIT_CONFIG
    from gateway.core.log import setup

    setup(config.log.level, args.log_format or config.log.format)
    from gateway.daemon.app import Gateway, StartRefused, run_all

    clock = SystemClock()
    gateways = [Gateway(c, clock, backfill_since=args.backfill, team=n) for n, c in teams]
    try:
        asyncio.run(run_all(gateways, args.config))
    except StartRefused as exc:
        print(f"{args.config}: refusing to start", file=sys.stderr)
        for key, msg in exc.problems:
            print(f"  {key}: {msg}", file=sys.stderr)
        return EXIT_CONFIG
    if any(gateway.lease_lost.is_set() for gateway in gateways):
        print("lost the lead of the database: exiting to start again as a worker", file=sys.stderr)
        return EXIT_LEASE_LOST
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from gateway.cli import simulate
    from gateway.core.config import ConfigError, load_config

    try:
        config = load_config(args.config) if args.config else None
        sizes = [int(x) for x in args.ses.split(",") if x.strip()]
    except ConfigError as exc:
        print(f"{args.config}: invalid configuration", file=sys.stderr)
        for key, msg in exc.problems:
            print(f"  {key}: {msg}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError:
        print(f"--ses: team sizes like 3,4,5, not {args.ses!r}", file=sys.stderr)
        return 2
    traffic = replace(simulate.Traffic(), tickets_per_day=args.tickets_per_day)
    rows = asyncio.run(
        simulate.simulate(
            simulate.base_from(config), traffic, sizes, args.days, args.seed, args.start, args.jobs
        )
    )
    print(simulate.table(rows))
    return 0


def check_config(config: Config, path: str, connect: bool) -> int:
    from gateway.mail.mime import Composer

    problems = config.secret_problems() + [
        (f"template {name}", msg)
        for name, msg in Composer(config, SystemClock()).template_problems()
    ]
    if problems:
        print(f"{path}: not ready to run", file=sys.stderr)
        for key, msg in problems:
            print(f"  {key}: {msg}", file=sys.stderr)
        return EXIT_CONFIG
    where = f"{config.templates_dir} over the built-in set" if config.templates_dir else "built-in"
    print(f"{path}: configuration is valid; every template renders ({where})")
    for warning in readable_by_others(config):
        print(f"warning: {warning}", file=sys.stderr)
    if not connect:
        return 0
    failures = 0
    if config.imap.enabled:
        from gateway.daemon.ingest.imap import CONNECTION_ERRORS, open_client

        try:
            client = open_client(config.imap)
            client.select_folder(config.imap.inbox, readonly=True)
            client.logout()
            print(f"imap: logged in to {config.imap.host}:{config.imap.port} as {config.imap.user}")
        except (*CONNECTION_ERRORS, KeyError) as exc:
            failures += 1
            print(f"imap: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
    failures += _check_smtp(config)
    return 1 if failures else 0


def readable_by_others(config: Config) -> list[str]:
    """The files of ours anyone else on the host may read (made before the daemon made them
    0600, or by hand): the database and its journal, and the secrets."""
    import stat

    paths = []
    if not config.database.url:
        db = Path(config.database.path)
        paths += [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    for secret in (config.imap.password, config.smtp.password):
        if secret.file and not secret.problem():
            paths.append(Path(os.path.expandvars(secret.file)))
    found = []
    for p in paths:
        try:
            mode = stat.S_IMODE(p.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            found.append(
                f"{p} is readable by others (mode {mode:04o}): chmod 600 {p}"
                " (the daemon creates its files 0600)"
            )
    return found


def _check_smtp(config: Config) -> int:
    from gateway.daemon import oauth2
    from gateway.daemon.oauth2 import TokenSource

    cfg = config.smtp
    try:
        cls = smtplib.SMTP_SSL if cfg.tls.value == "tls" else smtplib.SMTP
        with cls(cfg.host, cfg.port, timeout=cfg.timeout_seconds) as smtp:
            if cfg.tls.value == "starttls":
                smtp.starttls()
            if cfg.user and cfg.auth == "xoauth2":
                smtp.ehlo_or_helo_if_needed()
                oauth2.login(
                    TokenSource(cfg.oauth2_token),
                    # A refusal comes as a 334 challenge, answered with an empty line.
                    lambda token: smtp.auth(
                        "XOAUTH2",
                        lambda challenge=None: (
                            ""
                            if challenge is not None
                            else oauth2.initial_response(cfg.user, token)
                        ),
                    ),
                    (smtplib.SMTPAuthenticationError,),
                    f"SMTP relay {cfg.host}",
                    cfg.user,
                )
            elif cfg.user:
                smtp.login(cfg.user, cfg.password.read().get_secret_value())
            smtp.noop()
        print(f"smtp: connected to {cfg.host}:{cfg.port}")
        return 0
    except (OSError, smtplib.SMTPException, KeyError, oauth2.TokenRefused) as exc:
        print(f"smtp: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
