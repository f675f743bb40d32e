"""Auto-replies that carry no auto-reply header, known by the subject their software writes
("Automatic reply:" from Outlook and Microsoft 365 in their users' languages, "Auto-Reply:",
"Out of Office:", ...). Only the exact prefixes robots write, never a word anywhere in it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "autoreply-subject"
VERDICT = MailClass.AUTO_REPLY
_PREFIXES = re.compile(
    r"^(automatic reply|auto-reply|autoreply|auto reply|out of office( reply| autoreply)?"
    r"|automatische antwort|abwesenheitsnotiz|réponse automatique|respuesta automática"
    r"|risposta automatica|automatisch antwoord|resposta automática|autosvar"
    r"|automaattinen vastaus|automatyczna odpowiedź)\s*:",
    re.IGNORECASE,
)


def check(msg: InboundMessage, ours: Ours) -> str | None:
    subject = msg.subject.strip()
    if _PREFIXES.match(subject):
        return f"auto-reply subject {subject[:60]!r}"
    return None
