"""Auto-Submitted other than "no" (RFC 3834)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "auto-submitted"
VERDICT = MailClass.AUTO_REPLY


def check(msg: InboundMessage, ours: Ours) -> str | None:
    for value in msg.headers.get("auto-submitted", ()):
        keyword = value.split(";", 1)[0].strip().lower()
        if keyword and keyword != "no":
            return f"Auto-Submitted: {keyword}"
    return None
