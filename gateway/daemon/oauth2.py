"""OAuth2 bearer tokens for IMAP and SMTP (XOAUTH2, as Microsoft 365 and Gmail require).

A token comes from its configured source (a file kept fresh by another program, an environment
variable, or a command that prints one) and is kept between logins: tokens live about an hour.
When a server refuses it, the source is read again (the command run again, so it can refresh an
expired token) and the login tried once more; a second refusal is :class:`TokenRefused`, whose
message names the server and the user and never the token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gateway.core.config import Secret

T = TypeVar("T")


class TokenRefused(Exception):
    """The server refused the OAuth2 token, also after a fresh one was fetched."""


class TokenSource:
    """One login's token, read from its source when first needed and again on refusal."""

    def __init__(self, secret: Secret) -> None:
        self.secret = secret
        self._token: str | None = None
        self.fetched = 0  # how many times the source was read (a refresh shows here)

    def token(self) -> str:
        if self._token is None:
            self._token = self.secret.read().get_secret_value()
            self.fetched += 1
        return self._token

    def refresh(self) -> str:
        self._token = None
        return self.token()


def initial_response(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64 (which the protocol library adds)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def _refused(where: str, user: str, exc: BaseException) -> TokenRefused:
    # The server's words only (they never echo the token); the token itself is never shown.
    return TokenRefused(
        f"{where} refused the OAuth2 token of {user}, also after fetching a new one from its"
        f" source ({type(exc).__name__}: {exc})"
    )


def login(
    tokens: TokenSource,
    attempt: Callable[[str], T],
    refused: tuple[type[BaseException], ...],
    where: str,
    user: str,
) -> T:
    """``attempt(token)``; on refusal once more with a fresh token (blocking code: IMAP, SMTP)."""
    try:
        return attempt(tokens.token())
    except refused:
        pass
    try:
        return attempt(tokens.refresh())
    except refused as exc:
        raise _refused(where, user, exc) from None
