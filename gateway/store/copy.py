"""Copy a SQLite database's whole state into an empty PostgreSQL one (``migrate --to``).

Every table, row for row with its id, in one PostgreSQL transaction (all or nothing), from one
read snapshot of the SQLite file. References to rows not yet copied (a ticket merged into a later
one, a date superseded by a later one) are filled in after all rows are in; the per-SE load
table is copied as it was, not counted again by the triggers; the id sequences continue after
the highest id copied.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg

from gateway.store.db import within

# In the order that keeps every reference to a row already copied (self-references aside).
TABLES = (
    "tickets",
    "inbox",
    "inbox_raw",
    "inbox_keys",
    "cursors",
    "message_ids",
    "commitments",
    "outbox",
    "outbox_raw",
    "undeliverable",
    "decisions",
    "automatic_mail",
    "se_load",
    "shunts",
    "participants",
    "leave",
    "web_users",
    "web_keys",
    "web_actions",
    "last_sent",
)
# Columns that may point at a later row of the same table: copied as NULL, then set.
_LATER = {"tickets": ("merged_into",), "commitments": ("revision_of", "superseded_by")}
_ORDER = {"participants": "rowid"}  # the order people joined (PostgreSQL's explicit rowid)
_IDENTITY = ("tickets", "inbox", "commitments", "outbox", "decisions", "web_actions")
BATCH = 500


def occupied(pg: psycopg.Connection[Any]) -> list[str]:
    """The tables of the target that already hold rows (a copy goes only into an empty one)."""
    return [
        t
        for t in ("tickets", "inbox", "outbox", "commitments")
        if _one(pg, f"SELECT EXISTS (SELECT 1 FROM {t})")
    ]


def copy(source: sqlite3.Connection, pg: psycopg.Connection[Any]) -> dict[str, tuple[int, int]]:
    """Copy every table; return, per table, (rows in the source, rows in the target)."""
    return within(pg, "BEGIN", lambda: _copy(source, pg))


def _copy(source: sqlite3.Connection, pg: psycopg.Connection[Any]) -> dict[str, tuple[int, int]]:
    for table in TABLES:
        if table == "se_load":  # as it was: the triggers counted the tickets copied
            pg.execute("DELETE FROM se_load")
        _copy_table(source, pg, table)
    for table, columns in _LATER.items():
        for column in columns:
            rows = source.execute(
                f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"
            ).fetchall()
            pg.cursor().executemany(
                f"UPDATE {table} SET {column} = $2 WHERE id = $1",
                [(r[0], r[1]) for r in rows],
            )
    for table in _IDENTITY:
        pg.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" coalesce(max(id), 0) + 1, false) FROM {table}"
        )
    counts = {
        table: (
            int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]),
            int(_one(pg, f"SELECT count(*) FROM {table}")),
        )
        for table in TABLES
    }
    if any(had != has for had, has in counts.values()):
        raise RuntimeError(f"the copy's counts differ: {counts}")  # (rolls the copy back)
    return counts


def _copy_table(source: sqlite3.Connection, pg: psycopg.Connection[Any], table: str) -> None:
    columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})").fetchall()]
    later = _LATER.get(table, ())
    chosen = ", ".join(f"NULL AS {c}" if c in later else c for c in columns)
    order = _ORDER.get(table, "rowid")
    cur = source.execute(f"SELECT {chosen} FROM {table} ORDER BY {order}")
    insert = (
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})"
    )
    while rows := cur.fetchmany(BATCH):
        pg.cursor().executemany(insert, [_values(r) for r in rows])


def _one(pg: psycopg.Connection[Any], sql: str) -> Any:
    row = pg.execute(sql.encode()).fetchone()
    assert row is not None
    return row[0]


def _values(row: sqlite3.Row) -> tuple[Any, ...]:
    # PostgreSQL's text cannot hold NUL (see gateway/store/postgres.py).
    return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)
