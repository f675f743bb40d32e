"""The web view's own rows: password hashes, the cookie-signing key, the actions taken."""

from __future__ import annotations

import secrets
from datetime import datetime

from gateway.store.db import Db, ts


def credentials(db: Db, address: str) -> tuple[str | None, int | None]:
    """The password hash of ``address`` and the generation its sessions carry (None, None:
    no password set)."""
    row = db.execute(
        "SELECT hash, generation FROM web_users WHERE address = ?", (address.lower(),)
    ).fetchone()
    return (str(row[0]), int(row[1])) if row is not None else (None, None)


def set_password_hash(db: Db, address: str, hashed: str, now: datetime) -> None:
    """A new password, which also ends every session signed in before it."""
    db.execute(
        "INSERT INTO web_users (address, hash, set_at) VALUES (?, ?, ?)"
        " ON CONFLICT(address) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at,"
        " generation = web_users.generation + 1",
        (address.lower(), hashed, ts(now)),
    )


def end_sessions(db: Db, address: str) -> None:
    """Signing out: every session of ``address`` ends (copies of the cookie too)."""
    db.execute(
        "UPDATE web_users SET generation = generation + 1 WHERE address = ?", (address.lower(),)
    )


def generation(db: Db, address: str) -> int | None:
    """The generation a session of ``address`` must carry (None: no password set)."""
    row = db.execute(
        "SELECT generation FROM web_users WHERE address = ?", (address.lower(),)
    ).fetchone()
    return int(row[0]) if row is not None else None


def signing_key(db: Db) -> str:
    """The key that signs session cookies: made once, kept (sessions survive a restart)."""
    db.execute(
        "INSERT INTO web_keys (name, value) VALUES ('session', ?) ON CONFLICT DO NOTHING",
        (secrets.token_urlsafe(48),),
    )
    row = db.execute("SELECT value FROM web_keys WHERE name = 'session'").fetchone()
    assert row is not None
    return str(row[0])


def record_action(db: Db, who: str, action: str, target: str, outcome: str, now: datetime) -> None:
    db.execute(
        "INSERT INTO web_actions (at, who, action, target, outcome) VALUES (?, ?, ?, ?, ?)",
        (ts(now), who, action, target, outcome),
    )
