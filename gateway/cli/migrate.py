"""``support-gateway migrate --config FILE --to postgresql://...``: move an installation from
SQLite to PostgreSQL.

Stop the service first (mail stored after the copy would be missing from it). The SQLite file
named by the config is brought to this release's schema, read in one snapshot and copied, every
table and row with its id, into the PostgreSQL database (which must hold no tickets or mail), in
one transaction; the counts of both are compared and printed. Then set ``database.url`` in the
config and start the service: it goes on from the copied state (the IMAP cursor, the outbox,
every date and its revisions, who is on which ticket). The SQLite file is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from gateway.cli.options import config_arguments, outcome
from gateway.core.config import Config
from gateway.store import Store, copy, postgres
from gateway.store.db import is_postgres, open_snapshot


def migrate(config: Config, url: str) -> tuple[int, str]:
    """Return (exit status, text to print)."""
    if not is_postgres(url):
        return 2, f"--to must be a postgresql:// URL, not {url!r}"
    if config.database.url:
        return 1, "the config already uses PostgreSQL: migrate copies from its SQLite file"
    source = Path(config.database.path)
    if not source.exists():
        return 1, f"no database at {source}: nothing to copy"

    async def upgrade() -> None:  # the copy is of this release's schema
        async with Store(str(source)):
            pass

    asyncio.run(upgrade())
    pg = postgres.connect(url)
    try:
        postgres.migrate(pg)
        if full := copy.occupied(pg):
            return 1, (
                f"{postgres.safe_url(url)} already holds {', '.join(full)}: give an empty"
                " database (nothing was copied)"
            )
        snapshot = open_snapshot(str(source))
        try:
            counts = copy.copy(snapshot, pg)
        finally:
            snapshot.close()
    finally:
        pg.close()
    width = max(map(len, counts))
    lines = [f"copied {source} to {postgres.safe_url(url)} (rows: source = copy):"]
    lines += [f"  {t:<{width}}  {had}" for t, (had, _) in counts.items()]
    lines.append(f'now set database.url = "{postgres.safe_url(url)}" and start the service')
    return 0, "\n".join(lines)


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser, "TOML config file (its SQLite file)")
    parser.add_argument("--to", required=True, help="postgresql://... (an empty database)")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    return outcome(*migrate(teams[0][1], args.to))
