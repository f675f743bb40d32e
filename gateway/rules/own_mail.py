"""Mail from one of our own addresses, naming us in X-Loop, or carrying our Message-ID domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.models import InboundMessage

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "own-mail"
VERDICT = "own"


def check(msg: InboundMessage, ours: Ours) -> str | None:
    if msg.from_address in ours.addresses:
        return f"sent from our own address {msg.from_address}"
    for loop in msg.headers.get("x-loop", ()):
        if loop.strip().lower() in ours.addresses:
            return f"X-Loop names us ({loop.strip()})"
    if msg.has_message_id and msg.message_id.lower().endswith(f"@{ours.message_id_domain}>"):
        return f"Message-ID {msg.message_id} is on our own domain"
    return None
