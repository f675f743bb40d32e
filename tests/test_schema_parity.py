"""Both engines end with the same schema: every table, column (and whether it may be NULL),
index (and its columns), trigger and view that SQLite's migrations make, PostgreSQL's schema makes
too, and nothing else. The two are written apart (SQLite's as migrations, PostgreSQL's with its
own types and PL/pgSQL triggers), so this is what keeps them one schema."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from gateway.store import Store
from tests.postgres import Postgres

# Where the engines differ by design, said once: full-text search is FTS5's virtual table (and its
# shadow tables and the triggers that feed it) on SQLite, a pg_trgm index over tickets on
# PostgreSQL; PostgreSQL's participants has an explicit rowid (SQLite's is implicit), and its
# schema version is a table (SQLite's is the file's user_version).
SQLITE_ONLY_TABLES = re.compile(r"^tickets_search(_\w+)?$")
SQLITE_ONLY_TRIGGERS = re.compile(r"^tickets_search_\w+$")
PG_ONLY_INDEXES = {"tickets_search"}
PG_ONLY_TABLES = {"schema_version"}
PG_ONLY_COLUMNS = {("participants", "rowid")}


def _sqlite(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    try:
        tables = {
            name
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if not SQLITE_ONLY_TABLES.match(name)
        }
        columns = {
            (table, name): bool(notnull or pk)
            for table in tables
            for (_, name, _, notnull, _, pk) in con.execute(f"PRAGMA table_info({table})")
        }
        indexes = {
            name: tuple(c[2] for c in con.execute(f"PRAGMA index_info({name})"))
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index'"
                " AND name NOT LIKE 'sqlite_autoindex_%'"
            )
        }
        # What fires, on which table and event (PostgreSQL may serve two events with one
        # trigger: "AFTER INSERT OR DELETE"), not what each trigger is called.
        triggers = {
            (table, event)
            for (name, table, sql) in con.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
            )
            if not SQLITE_ONLY_TRIGGERS.match(name)
            for event in re.findall(r"\b(INSERT|UPDATE|DELETE)\b", sql.split(" ON ")[0])
        }
        views = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    finally:
        con.close()
    return {
        "tables": tables,
        "columns": columns,
        "indexes": indexes,
        "triggers": triggers,
        "views": views,
    }


def _postgres(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as con:
        views = {
            n
            for (n,) in con.execute(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"
            )
        }
        tables = {
            n
            for (n,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                " AND table_type = 'BASE TABLE'"
            )
        } - PG_ONLY_TABLES
        columns = {
            (table, name): nullable == "NO"
            for table, name, nullable in con.execute(
                "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
                " WHERE table_schema = 'public'"
            )
            if table in tables and (table, name) not in PG_ONLY_COLUMNS
        }
        # Indexes we create by name (primary keys and UNIQUE constraints make their own, as
        # SQLite's autoindexes: those are the columns' business, compared above).
        indexes = {
            name: tuple(cols)
            for name, cols in con.execute(
                "SELECT i.relname, array_agg(a.attname ORDER BY k.n) FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid"
                " JOIN pg_namespace s ON s.oid = i.relnamespace AND s.nspname = 'public'"
                " CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)"
                " LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum"
                " WHERE NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                "   WHERE c.conindid = x.indexrelid)"
                " GROUP BY i.relname"
            )
            if name not in PG_ONLY_INDEXES
        }
        triggers = set(
            con.execute(
                "SELECT DISTINCT event_object_table, event_manipulation"
                " FROM information_schema.triggers WHERE trigger_schema = 'public'"
            )
        )
    # An expression's column is NULL in pg_attribute, as SQLite's index_info gives None.
    return {
        "tables": tables,
        "columns": columns,
        "indexes": indexes,
        "triggers": triggers,
        "views": views,
    }


async def test_sqlite_and_postgresql_end_with_the_same_schema(
    tmp_path: Path, postgres_server: Postgres
) -> None:
    path = tmp_path / "gateway.db"
    url = postgres_server.database()
    for target in (str(path), url):
        async with Store(target):
            pass
    lite, pg = _sqlite(path), _postgres(url)
    assert lite["tables"] and lite["columns"] and lite["indexes"] and lite["triggers"]
    for part in ("tables", "views", "triggers"):
        assert lite[part] == pg[part], (part, lite[part] ^ pg[part])
    assert lite["columns"].keys() == pg["columns"].keys(), (
        lite["columns"].keys() ^ pg["columns"].keys()
    )
    differ = {c for c in lite["columns"] if lite["columns"][c] != pg["columns"][c]}
    assert not differ, f"NOT NULL differs: {sorted(differ)}"
    assert lite["indexes"].keys() == pg["indexes"].keys(), (
        lite["indexes"].keys() ^ pg["indexes"].keys()
    )
    differ_ix = {n for n in lite["indexes"] if lite["indexes"][n] != pg["indexes"][n]}
    assert not differ_ix, {n: (lite["indexes"][n], pg["indexes"][n]) for n in differ_ix}
