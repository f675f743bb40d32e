"""Mailing-list mail: List-Id, List-Unsubscribe or List-Post (RFC 2369, 2919)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "list-headers"
VERDICT = MailClass.LIST


def check(msg: InboundMessage, ours: Ours) -> str | None:
    for name in ("list-id", "list-unsubscribe", "list-post"):
        if name in msg.headers:
            return f"{name} header present"
    return None
