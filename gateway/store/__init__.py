"""Persistence: the database connection and one module per table family."""

from gateway.store.db import Store, from_ts, ts

__all__ = ["Store", "from_ts", "ts"]
