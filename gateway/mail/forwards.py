"""A customer's mail forwarded to support by one of our own people: who wrote it, when, and what.

Two shapes reach us. The mail attached whole (``message/rfc822``: Outlook's "Forward as
attachment", Thunderbird's default, Gmail's "Forward as attachment"), which keeps the customer's
headers, Message-ID included. Or the mail inline below a separator and a short header block,
written by the client in the forwarder's language:

- Gmail: ``---------- Forwarded message ---------`` then ``From:`` ``Date:`` ``Subject:`` ``To:``
- Outlook: a line of underscores (or ``-----Original Message-----``) then ``From:`` ``Sent:``
  ``To:`` ``Subject:``; the address may be written ``Name [mailto:a@b]`` or ``a@b<mailto:a@b>``
- Apple Mail: ``Begin forwarded message:`` then ``From:`` ``Subject:`` ``Date:`` ``To:``
- Thunderbird: ``-------- Forwarded Message --------`` then ``Subject:`` ``Date:`` ``From:``
  ``To:`` with a tab after each colon

The original sender comes only from those headers: when they name no usable address, nobody
is written to (the forwarder is asked instead).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from dateutil import parser as dateparser

from gateway.core.models import InboundMessage
from gateway.mail.inbound import ParseError, addresses_in, mailboxes_in, parse
from gateway.mail.points import html_to_text

# Separators the common clients write above a forwarded mail (English and the localisations
# we have seen), matched on a line of their own.
_SEPARATORS = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:Forwarded message|Weitergeleitete Nachricht|Message transféré|"
    r"Mensaje reenviado|Messaggio inoltrato|Doorgestuurd bericht|Vidarebefordrat meddelande|"
    r"Mensagem encaminhada|Wiadomość przekazana|Пересылаемое сообщение|Videresendt (?:meddelelse|"
    r"melding)|Přeposlaná zpráva|Välitetty viesti|Továbbított üzenet|転送メッセージ)"
    r"\s*-{2,}"
    r"|-{2,}\s*(?:Forwarded Message|Original Message|Ursprüngliche Nachricht|"
    r"Message d'origine|Mensaje original)\s*-{2,}"
    r"|Begin forwarded message:|Début du message réexpédié\s*:|Anfang der weitergeleiteten"
    r" Nachricht:|Inicio del mensaje reenviado:"
    r"|_{10,}"
    r")\s*$",
    re.IGNORECASE | re.MULTILINE,
)
# Gmail's separator in any language: ten dashes, words, nine dashes (and the like).
_ANY_SEPARATOR = re.compile(r"^\s*-{5,}\s*[^\W\d_][^\n\-]{2,50}?\s*-{5,}\s*$", re.MULTILINE)
# Header names as the clients localise them.
_FIELDS = {
    "from": ("from", "von", "de", "da", "van", "från", "fra"),
    "date": (
        "date",
        "sent",
        "datum",
        "gesendet",
        "envoyé",
        "enviado",
        "inviato",
        "verzonden",
        "skickat",
        "data",
        "fecha",
    ),
    "subject": (
        "subject",
        "betreff",
        "objet",
        "asunto",
        "oggetto",
        "onderwerp",
        "ämne",
        "emne",
        "assunto",
    ),
    "to": ("to", "an", "à", "a", "para", "aan", "till", "til"),
    "cc": ("cc", "kopie", "copie", "cc."),
}
_FIELD_OF = {word: field for field, words in _FIELDS.items() for word in words}
_HEADER_LINE = re.compile(r"^\s*\*?(?P<name>[^\W\d_][\w. ]{0,20}?)\*?\s*:\s*(?P<value>.*)$")
_AT = re.compile(r"\s+(?:at|um|à|a las|alle|om)\s+", re.IGNORECASE)  # "... 2026 at 9:12 AM"
_MAILTO = re.compile(r"<mailto:[^>]*>|\[mailto:([^\]]*)\]", re.IGNORECASE)


@dataclass(frozen=True)
class Forwarded:
    """The customer's mail inside a forward."""

    how: str  # "attached message" or "inline"
    name: str
    address: str  # '' when the headers name nobody we could write to
    subject: str
    text: str
    date: datetime | None = None
    message_id: str = ""  # only an attached message carries one
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    note: str = ""  # the forwarder's own words above the forwarded mail


def find(msg: InboundMessage) -> Forwarded | None:
    """The forwarded mail in ``msg``: the forwarder's own inline block (their client's first
    separator), else the mail they attached whole; ``None`` when ``msg`` forwards nothing. A
    file attached to a mail forwarded inline is that mail's, so the inline block comes first;
    only a mail attached to the forward itself counts, never one inside it."""
    body = msg.text if msg.text.strip() else html_to_text(msg.html)
    found = inline(body, msg.date)
    if found is not None:
        return found
    for raw in msg.attached[:1]:
        try:
            inner = parse(raw)
        except ParseError:
            continue
        return Forwarded(
            how="attached message",
            name=inner.from_name,
            address=inner.from_address,
            subject=inner.subject,
            text=inner.text or html_to_text(inner.html),
            date=inner.date,
            message_id=inner.message_id if inner.has_message_id else "",
            to=inner.to,
            cc=inner.cc,
            references=inner.thread_ids,
            note=msg.text.strip(),
        )
    return None


def inline(body: str, forwarded_at: datetime | None = None) -> Forwarded | None:
    """The forwarded block of a plain-text body below the forwarder's own separator: the first
    separator line, in any language (a Gmail-shaped ``---------- … ---------`` line counts in
    a language we do not know). A block further down is inside the forwarded mail, written by
    its sender: it never names the customer. When the first separator's header block names
    nobody we can read, the forward names no one (the forwarder is asked).
    ``forwarded_at`` (the forward's own Date) dates a customer's mail written without a zone."""
    body = body.replace("\r\n", "\n")
    candidates = sorted(
        [*_SEPARATORS.finditer(body), *_ANY_SEPARATOR.finditer(body)], key=lambda m: m.start()
    )
    for separator in candidates:
        below = body[separator.end() :].lstrip("\n").split("\n")
        if not _looks_like_headers(below):
            continue  # a disclaimer's rule, a separator with no header block: not a forward
        found = _header_block(below, forwarded_at)
        if found is None:  # the forwarder's block, in words we cannot read: nobody is named
            return Forwarded("inline", "", "", "", body[separator.end() :].strip())
        return replace(found, note=body[: separator.start()].strip())
    return None


def _looks_like_headers(lines: list[str]) -> bool:
    """Whether the first lines below a separator are "Name: value" lines, in any language."""
    first = [_unquote(x) for x in lines if _unquote(x).strip()][:2]
    return bool(first) and all(_HEADER_LINE.match(x) for x in first)


def _header_block(lines: list[str], forwarded_at: datetime | None) -> Forwarded | None:
    """The header block (``From:``, ``Date:`` ... in any order) and the text below it."""
    fields: dict[str, str] = {}
    end = len(lines)  # the first line of the text below the block
    for i, line in enumerate(lines):
        if not _unquote(line).strip():
            if fields:
                end = i
                break
            continue
        m = _HEADER_LINE.match(_unquote(line))
        field = _FIELD_OF.get(m.group("name").strip().lower()) if m else None
        if m is None or field is None:
            if fields:  # a folded value: it goes on the previous field
                last = next(reversed(fields))
                fields[last] += " " + line.strip()
                continue
            return None
        fields.setdefault(field, m.group("value").strip())
    if "from" not in fields:
        return None
    name, address = _sender(fields["from"])
    text = "\n".join(_unquote(line) for line in lines[end:]).strip()
    return Forwarded(
        how="inline",
        name=name,
        address=address,
        subject=fields.get("subject", ""),
        text=text,
        date=_date(fields.get("date", ""), forwarded_at),
        to=tuple(addresses_in(_MAILTO.sub("", fields.get("to", "")))),
        cc=tuple(addresses_in(_MAILTO.sub("", fields.get("cc", "")))),
    )


def _unquote(line: str) -> str:
    """A line of a forward some clients indent with '>' (Apple Mail's plain text quotes it)."""
    return re.sub(r"^\s*(?:>\s?)+", "", line)


def _sender(value: str) -> tuple[str, str]:
    """(name, address) from a forwarded From: ``Jane <jane@x>``, ``Jane [mailto:jane@x]``,
    ``jane@x<mailto:jane@x>``, or the name alone (no address: nobody to write to)."""
    value = _MAILTO.sub(lambda m: f"<{m.group(1)}>" if m.group(1) else "", value).strip()
    mailboxes = mailboxes_in(value)
    if mailboxes:
        return mailboxes[0]
    return value.strip(' "'), ""


def _date(value: str, forwarded_at: datetime | None) -> datetime | None:
    """When the customer wrote, from the forwarded Date line.

    RFC 5322 dates (Thunderbird, attached mail) carry their zone. The clients' own wordings
    ("Mon, Nov 23, 2026 at 9:12 AM", "Monday, November 23, 2026 9:12 AM") are written in the
    forwarder's local time, which is the zone of the forward's own Date header: read with
    dateutil in that zone, and believed only when they fall in the 90 days before the forward.
    Anything else is not guessed."""
    with contextlib.suppress(TypeError, ValueError, IndexError):
        date = parsedate_to_datetime(value)
        if date.tzinfo is not None:
            return date
    if forwarded_at is None or not value.strip():
        return None
    try:
        local = dateparser.parse(_AT.sub(" ", value), fuzzy=True, ignoretz=True)
    except (ValueError, OverflowError):
        return None
    local = local.replace(tzinfo=forwarded_at.tzinfo)  # a zone name in the words is ignored
    if not forwarded_at - timedelta(days=90) <= local <= forwarded_at:
        return None
    return local
