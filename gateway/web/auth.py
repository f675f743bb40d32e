"""Who is signed in, and what they may see and do.

People sign in with a password set by ``support-gateway passwd`` (an argon2id hash in the
database, never in the config), or through an SSO proxy that names them in a trusted header
(believed only from the configured proxies). Leads and SEs see every ticket; an SC sees the
tickets of their accounts (as the account's SC or its backup) and those they are the SC of; only
leads act on quarantine, spam, dead letters and shunted tickets.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.core.config import Config
from gateway.core.models import Role
from gateway.store.views import Scope

_HASHER = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verified when the address is unknown, so a wrong address costs as long as a wrong
    password (made when first needed: hashing costs time every command would pay at import)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Viewer:
    address: str
    name: str
    role: Role
    scope: Scope

    @property
    def lead(self) -> bool:
        return self.role is Role.LEAD

    @property
    def staff(self) -> bool:
        """Sees every ticket and the operations page (leads and SEs)."""
        return self.role is not Role.SC


def viewer(config: Config, address: str) -> Viewer | None:
    """The configured person behind ``address``, with what they may see; None for anyone else."""
    address = address.strip().lower()
    for p in config.people:
        if p.address == address:
            role = Role(p.role)
            if role is Role.SC:
                accounts = tuple(
                    a.name
                    for a in config.accounts
                    if address in (a.sc.lower(), a.backup_sc.lower())
                )
                scope = Scope(False, address, accounts)
            else:
                scope = Scope(True)
            return Viewer(address, p.name, role, scope)
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no password set; costs the same)."""
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: object, given: object) -> bool:
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(expected.encode(), given.encode())
    )
