"""An SMTP server that keeps what it receives: the demo's relay, and the tests' relay.

Faults can be injected to play a troubled relay: ``fail_with`` answers every DATA with that
reply (e.g. ``"451 4.3.0 Try later"``), ``refuse`` maps recipients to a reply for RCPT.
With ``oauth2_tokens`` set (token -> user), it offers ``AUTH XOAUTH2`` as Microsoft 365 and
Gmail do, refuses mail from a client that has not authenticated, and records every token it was
shown in ``oauth2_seen``.
"""

from __future__ import annotations

import asyncio
import email.policy
import json
import ssl
import time
from base64 import b64decode
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cached_property

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session


@dataclass
class Received:
    mail_from: str
    rcpt: list[str]
    raw: bytes
    peer: tuple[str, int] | None = None  # the client's address and port: its connection
    arrived_at: float = field(init=False, default_factory=time.monotonic)

    @cached_property
    def message(self) -> EmailMessage:
        """Parsed when first looked at: a benchmark counting arrivals pays for no parsing."""
        parsed = BytesParser(policy=email.policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def __getitem__(self, name: str) -> str:
        value = self.message[name]
        return "" if value is None else str(value)

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return "" if part is None else str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return "" if part is None else str(part.get_content())


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.sink.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sink.fail_with:
            return self.sink.fail_with
        raw = envelope.original_content or b""
        self.sink.messages.append(
            Received(
                str(envelope.mail_from),
                [str(r) for r in envelope.rcpt_tos],
                bytes(raw),
                session.peer[:2] if isinstance(session.peer, tuple) else None,
            )
        )
        self.sink.arrived.set()
        return "250 OK"


class _OAuth2Handler(_Handler):
    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """SASL XOAUTH2: ``user=U^Aauth=Bearer T^A^A``; a refusal is a 334 challenge with a
        JSON status, answered by the client with an empty line, then 535."""
        blob = args[1] if len(args) > 1 else ""
        try:
            fields = dict(
                f.split("=", 1) for f in b64decode(blob).decode().split("\x01") if "=" in f
            )
        except (ValueError, UnicodeDecodeError):
            fields = {}
        token = fields.get("auth", "").removeprefix("Bearer ")
        self.sink.oauth2_seen.append(token)
        user = (self.sink.oauth2_tokens or {}).get(token)
        if user is not None and user == fields.get("user"):
            return AuthResult(success=True, handled=False, auth_data=user)
        status = json.dumps({"status": "401", "schemes": "Bearer", "scope": "mail"})
        await server.challenge_auth(status)
        return AuthResult(success=False, handled=False)


class SmtpSink:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        """With ``tls`` (a server context): STARTTLS offered and required before MAIL, or
        with ``implicit_tls`` TLS from the first byte (port 465's way)."""
        self.host = host
        self.port = port
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.messages: list[Received] = []
        self.fail_with = ""
        self.refuse: dict[str, str] = {}
        self.oauth2_tokens: dict[str, str] | None = None  # token -> user; None: no AUTH
        self.oauth2_seen: list[str] = []
        self.arrived = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: (
                SMTP(
                    _OAuth2Handler(self),
                    decode_data=False,
                    enable_SMTPUTF8=True,
                    auth_require_tls=False,  # loopback only
                )
                if self.oauth2_tokens is not None
                else SMTP(
                    _Handler(self),
                    decode_data=False,
                    enable_SMTPUTF8=True,
                    tls_context=None if self.implicit_tls else self.tls,
                    require_starttls=self.tls is not None and not self.implicit_tls,
                )
            ),
            host=self.host,
            port=self.port,
            ssl=self.tls if self.implicit_tls else None,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def where(self, **headers: str) -> list[Received]:
        """Messages whose headers contain the given values (``X_Support_Ticket="SUP-1001"``)."""
        out = []
        for m in self.messages:
            if all(v in m[k.replace("_", "-")] for k, v in headers.items()):
                out.append(m)
        return out

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Wait until at least ``count`` messages have arrived (real-time bound)."""

        async def _until() -> None:
            while True:
                self.arrived.clear()  # before counting, so an arrival is never missed
                if len(self.messages) >= count:
                    return
                await self.arrived.wait()

        try:
            await asyncio.wait_for(_until(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"expected {count} messages at the SMTP sink, got {len(self.messages)}"
            ) from None
        return self.messages
