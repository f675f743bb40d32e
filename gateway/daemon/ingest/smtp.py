"""SMTP/LMTP ingress (aiosmtpd) for MTAs that push: store the raw mail, then answer 250.

The ``250`` is sent only after the transaction that stores the bytes has committed, so an MTA
never drops a message we have not kept; any failure to store answers ``451`` and the MTA retries.
Over LMTP the answer comes once per accepted recipient (RFC 2033 section 4.2); the message is
stored once, since every recipient is a name of the support mailbox.

We are nobody's open door: only the peers in ``ingress.allow`` (the MTA; loopback by default)
may hand us mail, so the topmost Authentication-Results of what we take is the MTA's; only
recipients in our domains are taken, and at most ``ingress.max_recipients`` of them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.core.clock import Clock
from gateway.core.config import IngressSection
from gateway.core.log import event
from gateway.mail import conversation
from gateway.store import Store, inbox

log = logging.getLogger("gateway.ingress")


class StoreHandler:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        on_stored: Callable[[], None],
        cfg: IngressSection | None = None,
        domains: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.clock = clock
        self.on_stored = on_stored
        self.cfg = cfg or IngressSection()
        self.allow = [ipaddress.ip_network(a, strict=False) for a in self.cfg.allow]
        self.domains = domains

    def _allowed(self, session: Session) -> bool:
        peer = session.peer[0] if isinstance(session.peer, tuple) else ""
        try:
            address = ipaddress.ip_address(str(peer).split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in net for net in self.allow)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self._allowed(session):
            event(log, "ingress-refused", logging.WARNING, peer=str(session.peer))
            return "554 5.7.1 This host does not take mail from you"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].rstrip(".").lower()
        if self.domains and domain not in self.domains:
            return "550 5.7.1 We take mail only for our own addresses"
        if len(envelope.rcpt_tos) >= self.cfg.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        now = self.clock.now()
        # Read before the transaction, which only records, and off the event loop.
        keys = await asyncio.to_thread(conversation.keys, raw)
        try:
            inbox_id = await self.store.run(
                lambda db: inbox.store_raw(db, raw, now, now, source="smtp", keys=keys)
            )
        except Exception as exc:
            event(log, "ingress-store-failed", logging.ERROR, error=f"{type(exc).__name__}: {exc}")
            return _reply(server, envelope, "451 4.3.0 Could not store the message, try later")
        event(log, "ingress-stored", inbox_id=inbox_id, size=len(raw), mail_from=envelope.mail_from)
        self.on_stored()
        return _reply(server, envelope, "250 2.0.0 Message stored")


def _reply(server: SMTP, envelope: Envelope, status: str) -> str:
    """SMTP answers DATA once; LMTP once per accepted recipient, in RCPT order."""
    if not isinstance(server, LMTP) or len(envelope.rcpt_tos) < 2:
        return status
    code, _, text = status.partition(" ")
    return "\r\n".join(f"{code} {text} for <{rcpt}>" for rcpt in envelope.rcpt_tos)


class SmtpIngress:
    def __init__(
        self,
        store: Store,
        cfg: IngressSection,
        clock: Clock,
        on_stored: Callable[[], None] = lambda: None,
        domains: frozenset[str] = frozenset(),
    ) -> None:
        self.cfg = cfg
        self.handler = StoreHandler(store, clock, on_stored, cfg, domains)
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        protocol: Any = LMTP if self.cfg.protocol == "lmtp" else SMTP
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: protocol(
                self.handler,
                data_size_limit=self.cfg.max_message_bytes,
                enable_SMTPUTF8=True,
                decode_data=False,
            ),
            host=self.cfg.host,
            port=self.cfg.port,
        )
        event(log, "ingress-up", protocol=self.cfg.protocol, host=self.cfg.host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
