"""A SQLite database as a file, for backups: its integrity, version and schema read without
writing to it, and a page-by-page copy into a new private file."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from gateway.store.db import MIGRATIONS, private_file, statements


def inspect_file(path: str | Path) -> tuple[str, int, set[str]]:
    """A database file's integrity check result, schema version and tables (read-only)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = str(con.execute("PRAGMA integrity_check").fetchone()[0])
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()
    return ok, version, tables


def _schema(con: sqlite3.Connection) -> dict[str, str]:
    """Every table, index, trigger and view of a database, by kind and name, with its SQL as
    written (comments and spacing aside)."""
    rows = con.execute(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {
        f"{kind} {name}": " ".join(re.sub(r"--[^\n]*", " ", str(sql)).split())
        for kind, name, sql in rows
    }


def schema_differences(path: str | Path, version: int) -> list[str]:
    """How the schema of the file at ``path`` differs from what this release's migrations make
    at ``version`` (tables, indexes, triggers and views): empty when it is exactly ours."""
    ours = sqlite3.connect(":memory:")
    theirs = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for script in MIGRATIONS[:version]:
            for statement in statements(script):
                ours.execute(statement)
        want, have = _schema(ours), _schema(theirs)
    finally:
        ours.close()
        theirs.close()
    return (
        [f"an extra {k}" for k in sorted(have.keys() - want.keys())]
        + [f"no {k}" for k in sorted(want.keys() - have.keys())]
        + [f"a changed {k}" for k in sorted(want.keys() & have.keys()) if want[k] != have[k]]
    )


def copy_file(source: str | Path, target: str | Path) -> None:
    """Copy a database file page by page into a new file (SQLite's backup API)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    private_file(target)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
