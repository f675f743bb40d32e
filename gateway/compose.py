"""The only place that builds MIME: templates -> :class:`Outbound`.

Every mail gets a Message-ID on our domain (fixed here, before it is queued, so a resend after a
crash carries the same one), the thread headers, ``Auto-Submitted`` and
``X-Auto-Response-Suppress: All`` (RFC 3834: robots must not answer us), and ``X-Loop`` naming
the support address (so our own mail coming back is recognised). Customer text only ever reaches
templates as data; HTML templates autoescape it.
"""

from __future__ import annotations

import email.policy
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gateway.clock import Clock
from gateway.config import Config
from gateway.models import Outbound, Ticket
from gateway.parse import clean

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_POLICY = email.policy.SMTP


def ticket_subject(ticket: Ticket) -> str:
    """'Re: <customer's subject> [SUP-1001]', without piling up prefixes or tokens."""
    subject = clean(ticket.subject) or "(no subject)"
    token = f"[{ticket.key}]"
    if token not in subject:
        subject = f"{subject} {token}"
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return subject


@dataclass(frozen=True)
class Envelope:
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    reply_to: str = ""


class Composer:
    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        dirs = [config.templates_dir] if config.templates_dir else []
        loaders = [FileSystemLoader(d) for d in [*dirs, str(BUILTIN_TEMPLATES)]]
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def new_message_id(self, ticket_key: str, kind: str) -> str:
        return f"<{ticket_key}.{kind}.{uuid.uuid4().hex[:20]}@{self.config.support.domain}>"

    def build(
        self,
        kind: str,
        template: str,
        ticket: Ticket,
        envelope: Envelope,
        context: dict[str, Any],
        *,
        subject: str | None = None,
        auto_submitted: str | None = "auto-generated",
        attach_raw: bytes | None = None,
        from_name: str | None = None,
    ) -> Outbound:
        """Render ``template``.txt.j2 and .html.j2 into a threaded mail for ``ticket``.

        Templates get the ticket, the support name, address and colour, and ``context``.
        """
        support = self.config.support
        ctx = {
            "ticket": ticket,
            "support_name": support.display_name,
            "support_address": support.address,
            "our_color": support.our_color,
            **context,
        }
        msg = EmailMessage(policy=_POLICY)
        message_id = self.new_message_id(ticket.key, kind)
        msg["Message-ID"] = message_id
        msg["Date"] = format_datetime(self.clock.now())
        name = clean(from_name or support.display_name)
        msg["From"] = Address(display_name=name, addr_spec=support.address)
        msg["To"] = ", ".join(envelope.to)
        if envelope.cc:
            msg["Cc"] = ", ".join(envelope.cc)
        msg["Reply-To"] = envelope.reply_to or support.address
        msg["Subject"] = clean(subject) if subject is not None else ticket_subject(ticket)
        msg["In-Reply-To"] = ticket.last_customer_message_id
        msg["References"] = " ".join(
            dict.fromkeys([*ticket.references, ticket.last_customer_message_id])
        )
        if auto_submitted:  # None: a person's words, relayed (RFC 3834 covers only robots)
            msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
        msg["X-Loop"] = support.address
        msg["X-Support-Ticket"] = ticket.key
        msg["X-Support-Kind"] = kind  # lets SEs filter, and tests tell our mails apart
        msg.set_content(self.env.get_template(f"{template}.txt.j2").render(ctx))
        msg.add_alternative(
            self.env.get_template(f"{template}.html.j2").render(ctx), subtype="html"
        )
        if attach_raw is not None:
            _attach_original(msg, attach_raw)
        recipients = tuple(dict.fromkeys([*envelope.to, *envelope.cc]))
        return Outbound(kind, message_id, support.address, recipients, msg.as_bytes())


def _attach_original(msg: EmailMessage, raw: bytes) -> None:
    """Attach the customer's mail as message/rfc822 (a file when it cannot be re-serialised)."""
    try:
        original = BytesParser(policy=email.policy.default).parsebytes(raw)
        original.as_bytes(policy=_POLICY)  # fails here, not at send time, if it cannot be sent
        msg.add_attachment(original)
    except Exception:  # a hostile original must never stop the SE from getting the copy
        msg.add_attachment(
            raw, maintype="application", subtype="octet-stream", filename="original.eml"
        )
