"""An upstream filter's spam verdict: X-Spam-Flag: YES, X-Spam-Status: Yes (SpamAssassin,
rspamd), or Microsoft's spam confidence level (SCL) at or above ``safety.spam_scl_threshold``.
Answering it would send backscatter to a forged sender; it is kept, never answered."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "spam-verdict"
VERDICT = MailClass.SPAM
_SCL = re.compile(r"(?:^|;)\s*SCL:\s*(-?\d+)", re.IGNORECASE)


def check(msg: InboundMessage, ours: Ours) -> str | None:
    for value in msg.headers.get("x-spam-flag", ()):
        if value.strip().lower() == "yes":
            return "X-Spam-Flag: YES"
    for value in msg.headers.get("x-spam-status", ()):
        if value.strip().lower().startswith("yes"):
            return f"X-Spam-Status: {value.strip()[:60]}"
    levels = [v.strip() for v in msg.headers.get("x-ms-exchange-organization-scl", ())]
    for report in msg.headers.get("x-forefront-antispam-report", ()):
        levels += _SCL.findall(report)
    for level in levels:
        if level.lstrip("-").isdigit() and int(level) >= ours.spam_scl_threshold:
            return f"Microsoft spam confidence level {level} (threshold {ours.spam_scl_threshold})"
    return None
