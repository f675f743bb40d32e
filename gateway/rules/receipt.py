"""Read receipts: message disposition notifications (RFC 8098)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "receipt"
VERDICT = MailClass.RECEIPT


def check(msg: InboundMessage, ours: Ours) -> str | None:
    params = msg.header("content-type").lower().replace(" ", "")
    if msg.content_type == "multipart/report" and "report-type=disposition-notification" in params:
        return "multipart/report (disposition notification, RFC 8098)"
    if msg.subject.lower().startswith(("read:", "read receipt", "gelesen:", "lu :", "lu:")):
        return f"read receipt subject {msg.subject[:60]!r}"
    return None
