"""Persistence: the database connection and one module per table family."""

from gateway.store.db import Db, Store, from_ts, ts

__all__ = ["Db", "Store", "from_ts", "ts"]
