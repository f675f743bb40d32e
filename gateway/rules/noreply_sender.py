"""No-reply style senders: nobody reads what we would send them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "noreply-sender"
VERDICT = MailClass.AUTOMATED
_LOCAL = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|bounces?|notifications?|mailer|daemon)"
    r"([-_.+].*)?$"
)


def check(msg: InboundMessage, ours: Ours) -> str | None:
    local = msg.from_address.split("@", 1)[0].lower()
    if _LOCAL.match(local):
        return f"no-reply style sender {msg.from_address}"
    for value in msg.headers.get("reply-to", ()):
        if _LOCAL.match(value.strip().strip("<>").split("@", 1)[0].lower()):
            return f"no-reply style Reply-To {value.strip()}"
    return None
