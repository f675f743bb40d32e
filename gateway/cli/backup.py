"""``support-gateway backup DEST`` and ``restore SOURCE``: the whole state (tickets, the promise
ledger, the outbox, quarantine, the IMAP cursor) in one SQLite file.

``backup`` copies the database while the daemon runs (SQLite's online backup: one consistent
snapshot; the daemon goes on writing). ``restore`` checks the copy (integrity, a gateway
database of a version this release can migrate, and a schema exactly as our migrations made it:
no table, index, trigger or view added, removed or changed) and puts it in place of the
configured one, with a new web session key; stop the service first. The gateway then goes on
from the copy: dates still due are revised when missed, and mail after the copy's IMAP cursor
is fetched again (its Message-IDs are in the copy, so nothing already acknowledged is
acknowledged twice).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
from pathlib import Path

from gateway.cli.options import config_arguments, outcome
from gateway.core.config import Config
from gateway.store import Store, figures
from gateway.store import web as web_store
from gateway.store.db import MIGRATIONS, read_once, write_once
from gateway.store.files import copy_file, inspect_file, schema_differences


def _figures(path: str) -> str:
    tickets, dates, mails = read_once(path, figures.totals)
    return f"{tickets} tickets, {dates} dates, {mails} mails in"


def backup(config: Config, dest: str) -> tuple[int, str]:
    """Return (exit status, text to print)."""
    if config.database.url:
        return 1, "the database is PostgreSQL: back it up with pg_dump (see the README)"
    if os.path.lexists(dest):  # a link too, even one pointing nowhere: never written through
        return 1, f"{dest} exists: give a new file name (nothing was written)"
    if not Path(config.database.path).exists():
        return 1, f"no database at {config.database.path}"

    async def copy() -> None:
        async with Store(config.database.target) as store:
            await store.backup_to(dest)

    asyncio.run(copy())
    return 0, f"backed up {config.database.path} to {dest}: {_figures(dest)}"


def check(source: str) -> str | None:
    """Why ``source`` cannot be restored, or None."""
    if not Path(source).is_file():
        return f"no file {source}"
    try:
        ok, version, has = inspect_file(source)
    except sqlite3.DatabaseError as exc:
        return f"{source} is not a SQLite database: {exc}"
    if ok != "ok":
        return f"{source} is damaged: {ok}"
    if not {"tickets", "commitments", "inbox"} <= has or version < 1:
        return f"{source} is not a support-gateway database"
    if version > len(MIGRATIONS):
        return (
            f"{source} is from a newer release (schema {version}; this one knows {len(MIGRATIONS)})"
        )
    differs = schema_differences(source, version)
    if differs:  # a trigger or view of someone else's would run on every write from now on
        shown = "; ".join(differs[:5]) + ("; …" if len(differs) > 5 else "")
        return f"{source} is not exactly a support-gateway schema {version} database ({shown})"
    return None


def restore(config: Config, source: str, force: bool) -> tuple[int, str]:
    """Return (exit status, text to print)."""
    if config.database.url:
        return 1, "the database is PostgreSQL: restore it with pg_restore (see the README)"
    problem = check(source)
    if problem:
        return 1, f"{problem}: nothing was changed"
    path = Path(config.database.path)
    if path.exists() and not force:
        return 1, (
            f"{path} exists: stop the service, then restore with --force to replace it"
            " (nothing was changed)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    copy_file(source, path)

    # Opening the copy brings it to this release's schema; whoever held the copy holds its
    # session key, so it gets a new one (and every session ends).
    asyncio.run(write_once(str(path), web_store.rotate_key))
    return 0, (
        f"restored {source} to {path}: {_figures(str(path))}; a new web session key"
        " (everyone signs in again)"
    )


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("dest", help="the new file to write")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    return outcome(*backup(teams[0][1], args.dest))
