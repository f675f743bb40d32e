"""An SMTP server that keeps what it receives: the demo's relay, and the tests' relay.

Faults can be injected to play a troubled relay: ``fail_with`` answers every DATA with that
reply (e.g. ``"451 4.3.0 Try later"``), ``refuse`` maps recipients to a reply for RCPT.
"""

from __future__ import annotations

import asyncio
import email.policy
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cached_property

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    mail_from: str
    rcpt: list[str]
    raw: bytes
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
            Received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], bytes(raw))
        )
        self.sink.arrived.set()
        return "250 OK"


class SmtpSink:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.messages: list[Received] = []
        self.fail_with = ""
        self.refuse: dict[str, str] = {}
        self.arrived = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(_Handler(self), decode_data=False, enable_SMTPUTF8=True),
            host=self.host,
            port=self.port,
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
