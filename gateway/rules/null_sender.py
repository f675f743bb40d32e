"""Null return path, MAILER-DAEMON or postmaster: delivery system mail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "null-sender"
VERDICT = MailClass.BOUNCE
_SYSTEM = ("mailer-daemon", "postmaster")


def check(msg: InboundMessage, ours: Ours) -> str | None:
    if msg.return_path == "":
        return "null return path <>"
    if not msg.from_address:
        return "no From address"
    local = msg.from_address.split("@", 1)[0].lower()
    if local in _SYSTEM:
        return f"sent by {local}"
    return None
