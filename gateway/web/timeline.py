"""A stored mail as a ticket's page shows it: who, to whom, subject, the new text with the quoted
rest folded away, the attachments. Pure: bytes in, a view out."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.mail.inbound import ParseError, parse
from gateway.mail.points import new_text

REMOVED = "removed after the retention time, or at an erasure request"
TEXT_MAX = 20_000  # characters shown of one mail; the raw message has the rest (leads)


@dataclass(frozen=True)
class Shown:
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str  # what this mail says that the ones before did not
    quoted: str  # the rest (quotes, signatures), folded on the page; '' when nothing more
    attachments: tuple[str, ...]
    problem: str = ""  # why the mail could not be read (it is kept as it came)


def show(raw: bytes) -> Shown:
    if not raw:
        return Shown("", (), (), "", "", "", (), problem=REMOVED)
    try:
        msg = parse(raw)
    except ParseError as exc:
        return Shown("", (), (), "", "", "", (), problem=str(exc))
    whole = msg.text.strip()
    fresh = new_text(msg.text, msg.html).strip() or whole
    quoted = whole if whole and whole != fresh else ""
    sender = f"{msg.from_name} <{msg.from_address}>" if msg.from_name else msg.from_address
    return Shown(
        sender,
        msg.to,
        msg.cc,
        msg.subject,
        fresh[:TEXT_MAX],
        quoted[:TEXT_MAX],
        msg.attachments,
    )
