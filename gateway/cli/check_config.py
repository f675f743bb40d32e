"""``support-gateway check-config [--connect]``: is this config ready to run? Every key, every
secret and every template (the operator's over the built-in set) is checked; ``--connect`` also
logs in to IMAP and the SMTP relay. Exit status 2 names each problem."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli.options import config_arguments, problems

if TYPE_CHECKING:
    from gateway.core.config import Config


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("--connect", action="store_true", help="also log in to IMAP and SMTP")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    return max(
        check_config(c, args.config + (f" (team {name})" if name else ""), args.connect)
        for name, c in teams
    )


def check_config(config: Config, path: str, connect: bool) -> int:
    from gateway.core.clock import SystemClock
    from gateway.mail.mime import Composer

    found = config.secret_problems() + [
        (f"template {name}", msg)
        for name, msg in Composer(config, SystemClock()).template_problems()
    ]
    if found:
        return problems(path, "not ready to run", found)
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
    from gateway.daemon import relay
    from gateway.daemon.oauth2 import TokenSource

    cfg = config.smtp
    failing: tuple[type[BaseException], ...] = (*relay.RELAY_ERRORS, KeyError)  # (a secret)
    try:
        # The daemon's own way in: TLS as configured (its certificate checked unless
        # tls_verify = false), then the login.
        secret = relay.password(cfg)
        with contextlib.closing(relay.connect(cfg, secret, TokenSource(cfg.oauth2_token))) as smtp:
            smtp.noop()
        print(f"smtp: connected to {cfg.host}:{cfg.port}")
        return 0
    except failing as exc:
        print(f"smtp: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
