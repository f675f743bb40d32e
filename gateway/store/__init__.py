"""Persistence, the floor of the house: the engines (SQLite, PostgreSQL), their schema and
migrations, and one module per table family holding every query (also those of status, report,
metrics and the web view). It imports only gateway.core: what a message means is computed
above it, before the write transaction, and handed in."""

from gateway.store.db import Db, Store, from_ts, ts

__all__ = ["Db", "Store", "from_ts", "ts"]
