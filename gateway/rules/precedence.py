"""Precedence bulk, junk, list or auto_reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "precedence"
VERDICT = MailClass.LIST
_BULK = {"bulk", "junk", "list", "auto_reply"}


def check(msg: InboundMessage, ours: Ours) -> str | None:
    for value in msg.headers.get("precedence", ()):
        if value.strip().lower() in _BULK:
            return f"Precedence: {value.strip().lower()}"
    return None
