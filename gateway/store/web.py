"""The web view's own rows: password hashes, the cookie-signing key, the actions taken."""

from __future__ import annotations

import secrets
from datetime import datetime

from gateway.store.db import Db, ts


async def password_hash(db: Db, address: str) -> str | None:
    row = await (
        await db.execute("SELECT hash FROM web_users WHERE address = ?", (address.lower(),))
    ).fetchone()
    return str(row[0]) if row is not None else None


async def set_password_hash(db: Db, address: str, hashed: str, now: datetime) -> None:
    await db.execute(
        "INSERT INTO web_users (address, hash, set_at) VALUES (?, ?, ?)"
        " ON CONFLICT(address) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
        (address.lower(), hashed, ts(now)),
    )


async def signing_key(db: Db) -> str:
    """The key that signs session cookies: made once, kept (sessions survive a restart)."""
    await db.execute(
        "INSERT OR IGNORE INTO web_keys (name, value) VALUES ('session', ?)",
        (secrets.token_urlsafe(48),),
    )
    row = await (await db.execute("SELECT value FROM web_keys WHERE name = 'session'")).fetchone()
    assert row is not None
    return str(row[0])


async def record_action(
    db: Db, who: str, action: str, target: str, outcome: str, now: datetime
) -> None:
    await db.execute(
        "INSERT INTO web_actions (at, who, action, target, outcome) VALUES (?, ?, ?, ?, ?)",
        (ts(now), who, action, target, outcome),
    )
