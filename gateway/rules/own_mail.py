"""Mail from one of our own addresses (plus-addresses and relay addresses included), naming us
in X-Loop, or carrying a Message-ID we made."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "own-mail"
VERDICT = MailClass.OWN
# The shape of the Message-IDs compose.py makes: <SUP-1001.kind.20 hex digits@domain>. Staff
# often share our domain, so the domain alone does not make a message ours.
_OURS = re.compile(r"<[A-Z][A-Z0-9]*-\d+\.[a-z-]+\.[0-9a-f]{20}@([^>]+)>")


def check(msg: InboundMessage, ours: Ours) -> str | None:
    if ours.owns(msg.from_address):
        return f"sent from our own address {msg.from_address}"
    for loop in msg.headers.get("x-loop", ()):
        if ours.owns(loop.strip()):
            return f"X-Loop names us ({loop.strip()})"
    m = _OURS.fullmatch(msg.message_id)
    if m and m.group(1).lower() == ours.message_id_domain:
        return f"Message-ID {msg.message_id} was made by this gateway"
    return None
