"""``support-gateway passwd ADDRESS``: a configured person's password for the web view, kept as
an argon2id hash in the database (never in the config, never logged); ``support-gateway web
rotate-key``: a new cookie-signing key, every session ended."""

from __future__ import annotations

import asyncio
import getpass
import sys

from gateway.core.clock import SystemClock
from gateway.core.config import Config
from gateway.store import web as web_store
from gateway.store.db import write_once
from gateway.web.auth import hash_password, viewer

MIN_LENGTH = 12


def set_password(config: Config, address: str, from_stdin: bool) -> tuple[int, str]:
    """Return (exit status, text to print)."""
    person = viewer(config, address)
    if person is None:
        return 1, f"{address} is not in [[people]]: only configured people may sign in"
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"New password for {person.address}: ")
        if getpass.getpass("Again: ") != password:
            return 1, "the two passwords differ: nothing was changed"
    if len(password) < MIN_LENGTH:
        return 1, f"a password needs at least {MIN_LENGTH} characters: nothing was changed"
    hashed = hash_password(password)

    now = SystemClock().now()
    asyncio.run(
        write_once(
            config.database.target,
            lambda db: web_store.set_password_hash(db, person.address, hashed, now),
        )
    )
    return 0, f"password set for {person.name} <{person.address}> ({person.role})"


def rotate_key(config: Config) -> tuple[int, str]:
    """Return (exit status, text to print)."""
    asyncio.run(write_once(config.database.target, web_store.rotate_key))
    return 0, (
        "a new session key is stored and every session has ended (everyone signs in again);"
        " the daemon signs with the new key from its next start"
    )
