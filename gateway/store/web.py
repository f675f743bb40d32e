"""The web view's own rows: password hashes and session generations, wrong passwords, the
cookie-signing key, the actions taken."""

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
        "INSERT INTO web_users (address, hash, set_at, generation) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(address) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at,"
        " generation = excluded.generation",
        (address.lower(), hashed, ts(now), new_generation()),
    )


def end_sessions(db: Db, address: str) -> None:
    """Signing out: every session of ``address`` ends (copies of the cookie too)."""
    db.execute(
        "UPDATE web_users SET generation = ? WHERE address = ?",
        (new_generation(), address.lower()),
    )


def new_generation() -> int:
    """What a session must carry: random (62 bits), so a cookie signed with a stolen key still
    names a generation nobody can guess or count to."""
    return secrets.randbits(62)


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


def rotate_key(db: Db) -> None:
    """A new cookie-signing key (the daemon signs with it from its next start), and every
    session ends now: each person's generation is new, so no cookie signed before still opens."""
    db.execute(
        "INSERT INTO web_keys (name, value) VALUES ('session', ?)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (secrets.token_urlsafe(48),),
    )
    for (address,) in db.execute("SELECT address FROM web_users").fetchall():
        end_sessions(db, str(address))


def login_locked(db: Db, address: str, client: str, since: datetime, attempts: int) -> bool:
    """Whether a sign-in to ``address`` from ``client`` is refused now: ``attempts`` wrong
    passwords for the address since ``since`` (from anywhere), or as many from the client and
    at least one of them for this address. A client over its limit may still try an address it
    has not got wrong, once: a shared client (a proxy, an office) never locks out a person
    whose address nobody tried, and guessing across addresses gets one try each."""
    by_address, by_client, here = db.execute(
        "SELECT (SELECT count(*) FROM web_failures WHERE address = ? AND at > ?),"
        " (SELECT count(*) FROM web_failures WHERE client = ? AND at > ?),"
        " (SELECT count(*) FROM web_failures WHERE client = ? AND address = ? AND at > ?)",
        (address, ts(since), client, ts(since), client, address, ts(since)),
    ).fetchone()
    return int(by_address) >= attempts or (int(by_client) >= attempts and int(here) > 0)


def login_failed(db: Db, address: str, client: str, now: datetime, since: datetime) -> None:
    """A wrong password; failures from before ``since`` are forgotten."""
    db.execute("DELETE FROM web_failures WHERE at <= ?", (ts(since),))
    db.execute(
        "INSERT INTO web_failures (address, client, at) VALUES (?, ?, ?)",
        (address, client, ts(now)),
    )


def login_succeeded(db: Db, address: str) -> None:
    """A right password: the address's wrong ones are forgotten."""
    db.execute("DELETE FROM web_failures WHERE address = ?", (address,))


def record_action(db: Db, who: str, action: str, target: str, outcome: str, now: datetime) -> None:
    db.execute(
        "INSERT INTO web_actions (at, who, action, target, outcome) VALUES (?, ?, ?, ?, ?)",
        (ts(now), who, action, target, outcome),
    )
