"""Both engines' schema as SQL files, one per version. ``sqlite/NN.sql`` are SQLite's migrations:
a database at ``user_version`` n runs the files after n. ``postgresql/NN.sql`` are PostgreSQL's:
01 is the whole schema as SQLite's 13 leaves it (identity keys, ``bytea``, PL/pgSQL triggers,
``pg_trgm``), each later file one of SQLite's later versions. A release that changes the schema
adds a file to both; tests/test_schema_parity.py checks that both end the same."""

from __future__ import annotations

from importlib.resources import files


def _scripts(engine: str) -> tuple[str, ...]:
    folder = files(__name__) / engine
    names = sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))
    if names != [f"{n:02d}.sql" for n in range(1, len(names) + 1)]:
        raise RuntimeError(f"the {engine} schema files are not numbered 01 to {len(names)}")
    return tuple((folder / name).read_text(encoding="utf-8") for name in names)


SQLITE: tuple[str, ...] = _scripts("sqlite")
POSTGRESQL: tuple[str, ...] = _scripts("postgresql")
