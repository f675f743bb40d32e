"""multipart/report: delivery status notifications and read receipts (RFC 6522)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.models import InboundMessage

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "report"
VERDICT = "bounce"


def check(msg: InboundMessage, ours: Ours) -> str | None:
    if msg.content_type == "multipart/report":
        kind = msg.header("content-type").lower()
        what = "read receipt" if "disposition-notification" in kind else "delivery report"
        return f"multipart/report ({what})"
    return None
