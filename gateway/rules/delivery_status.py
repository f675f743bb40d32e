"""Delivery status notifications: RFC 3464 reports and the common non-standard bounce formats."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway.models import InboundMessage

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "delivery-status"
VERDICT = "bounce"
# Subjects of the bounces that servers send without multipart/report (Exim, qmail, Exchange...).
_SUBJECTS = re.compile(
    r"^(undelivered mail returned to sender|delivery status notification \((failure|delay)\)"
    r"|mail delivery failed|failure notice|undeliverable:|returned mail:|delivery failure"
    r"|mail delivery subsystem|non remis|unzustellbar)",
    re.IGNORECASE,
)


def check(msg: InboundMessage, ours: Ours) -> str | None:
    if msg.content_type == "multipart/report":
        params = msg.header("content-type").lower().replace(" ", "")
        if "report-type=delivery-status" in params or "report-type=" not in params:
            return "multipart/report (delivery status notification, RFC 3464)"
    if "x-failed-recipients" in msg.headers:
        return f"X-Failed-Recipients: {msg.header('x-failed-recipients')}"
    if _SUBJECTS.match(msg.subject.strip()):
        return f"bounce subject {msg.subject.strip()[:60]!r}"
    return None
