"""Raw bytes -> :class:`InboundMessage` (mail-parser for the MIME tree, stdlib for addresses)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from datetime import datetime
from email.header import Header, decode_header, make_header
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import cast

import idna
import mailparser

from gateway.core.models import InboundMessage
from gateway.mail.plain_addresses import plain_mailboxes

_MSGID = re.compile(r"<[^<>\s]+>")
_SPACE = re.compile(r"[\r\n\t]+")


class ParseError(Exception):
    """The bytes are not a mail we can work with (the message is quarantined)."""


def clean(value: str) -> str:
    """One line: CR, LF and tabs become spaces, so no header value can start a new header."""
    return _SPACE.sub(" ", sound(value)).strip()


def sound(value: str) -> str:
    """Text that can be stored and sent: an undecodable byte the email package kept as a lone
    surrogate (surrogateescape) becomes U+FFFD, as any other undecodable byte does."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")


def _raw_8bit(value: Header) -> str:
    """A header sent as raw 8-bit bytes (RFC 6532: UTF-8, the norm for international mail; else
    a legacy charset we cannot know), which compat32 keeps as 'unknown-8bit'."""
    parts = []
    for chunk, charset in decode_header(value):
        if isinstance(chunk, str):
            parts.append(chunk)
        elif charset in (None, "unknown-8bit"):
            parts.append(chunk.decode("utf-8", "replace"))
        else:
            try:
                parts.append(chunk.decode(str(charset), "replace"))
            except LookupError:
                parts.append(chunk.decode("utf-8", "replace"))
    return "".join(parts)


def header_text(value: object) -> str:
    """A header's value as text on one line: raw 8-bit and encoded words decoded where they can
    be, kept as sent where they cannot."""
    text = str(value)
    if isinstance(value, Header):
        with contextlib.suppress(LookupError, UnicodeError, ValueError, TypeError):
            text = _raw_8bit(value)
    # An undecodable encoded word stays as it was sent.
    with contextlib.suppress(LookupError, UnicodeError, ValueError, TypeError):
        text = str(make_header(decode_header(text)))
    return clean(text)


def _usable(address: str) -> bool:
    """An address we can write to: ASCII printable, no spaces, one '@' between two parts. Bytes
    that are not text (decoded as U+FFFD) or control characters make no recipient."""
    local, at, domain = address.rpartition("@")
    return bool(
        at and local and domain and address.isascii() and address.isprintable()
    ) and not any(c.isspace() or c in '"\\' for c in address)  # no quoted local parts


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
# A domain written with its root's dot (jane@acme.example.) is the same domain: the standard
# library's parser takes it for no address at all.
_TRAILING_DOT = re.compile(r"(@[^\s<>,;:\"@]+?)\.+(?=\s*(?:>|,|;|\(|$))")


def ascii_domain(domain: str) -> str:
    """A domain as DNS and SMTP write it: an internationalized one (bücher.example) in its
    ASCII form (xn--bcher-kva.example), lower case; '' when it is no valid domain."""
    domain = domain.rstrip(".").lower()
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return ""


_HEADERS = HeaderRegistry()


def _mailboxes(value: str) -> list[tuple[str, str]]:
    """(display name, address) of each mailbox in an address header, as sent.

    RFC 2047 allows encoded words only in display names (and comments): the modern parser of
    the standard library keeps them there, so ``=?utf-8?q?x=40evil.example?=`` is a name, never
    a recipient, and a ``:`` or ``;`` inside one starts no group. A decoded name that would hold
    a line break makes that parser refuse the header: then each encoded word is read as the
    quoted name it stands for, with the line break gone. The local part keeps its case (it is
    case-sensitive); the domain is lower-cased.
    """
    value = _TRAILING_DOT.sub(r"\1", value)
    # (The standard library's header parser raises AttributeError too, e.g. on "a:b@c;d".)
    try:
        addresses = _address_header(value)
    except (ValueError, TypeError, IndexError, AttributeError):
        quoted = _ENCODED_WORD.sub(
            lambda m: '"' + header_text(m.group(0)).replace("\\", "").replace('"', "") + '"', value
        )
        try:
            addresses = _address_header(quoted)
        except (ValueError, TypeError, IndexError, AttributeError):
            return []
    out = []
    for a in addresses:
        if not a.username or not a.domain:
            continue  # a name, or a local part alone: nobody to write to
        local = a.addr_spec[: -len(a.domain) - 1]
        address = f"{local}@{ascii_domain(a.domain)}"
        if _usable(address):
            out.append((clean(a.display_name), address))
    return out


def _address_header(value: str) -> tuple[Address, ...]:
    plain = plain_mailboxes(value)  # the common header, read faster to the same result
    if plain is not None:
        return plain
    header = cast(AddressHeader, _HEADERS("to", value))
    return header.addresses


def addresses_in(value: str) -> list[str]:
    """The usable addresses written in ``value`` (an address header's syntax)."""
    return [address for _, address in _mailboxes(value)]


def mailboxes_in(value: str) -> list[tuple[str, str]]:
    """(display name, address) of each usable mailbox written in ``value``."""
    return _mailboxes(value)


def _message_bytes(part: Message, inner: Message) -> bytes:
    """An attached mail's bytes. RFC 2046 allows it no transfer encoding, but some clients
    base64 it anyway: then the parser saw only the encoded text, which is decoded here."""
    if str(part.get("content-transfer-encoding", "")).strip().lower() == "base64":
        return base64.b64decode(str(inner.get_payload()), validate=False)
    return inner.as_bytes()


def _top_level_messages(part: Message) -> list[Message]:
    """The ``message/rfc822`` parts of the mail itself: never one inside an attached mail (a
    mail someone attached to the mail they sent us is theirs to forward, not this sender's)."""
    if part.get_content_type() == "message/rfc822":
        return [part]
    payload = part.get_payload() if part.is_multipart() else []
    subparts = payload if isinstance(payload, list) else []
    return [m for sub in subparts if isinstance(sub, Message) for m in _top_level_messages(sub)]


def _part_types(part: Message, limit: int = 50) -> tuple[str, ...]:
    """The content types of the mail's own parts, outermost first, never those inside a mail
    attached whole (a customer forwarding us a bounce is no bounce)."""
    found = [part.get_content_type()]
    if part.is_multipart() and part.get_content_type() != "message/rfc822":
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, Message) and len(found) < limit:
                found += _part_types(sub, limit - len(found))
    return tuple(found[:limit])


def _attached_messages(msg: Message, limit: int = 5) -> tuple[bytes, ...]:
    """The bytes of the mails attached whole (``message/rfc822``) to this mail itself."""
    found = []
    for part in _top_level_messages(msg):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            with contextlib.suppress(Exception):  # an unprintable part forwards nothing
                found.append(_message_bytes(part, inner))
        if len(found) == limit:
            break
    return tuple(found)


def _own_parts(part: Message) -> list[Message]:
    """The leaf parts of the mail itself: never those of a mail attached whole (its words are
    not the sender's, and neither are its commands), nor files."""
    if part.get_content_maintype() == "message":
        return []
    if part.is_multipart():
        payload = part.get_payload()
        subparts = payload if isinstance(payload, list) else []
        return [leaf for sub in subparts if isinstance(sub, Message) for leaf in _own_parts(sub)]
    if str(part.get_content_disposition() or "").lower() == "attachment" or part.get_filename():
        return []
    return [part]


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset("utf-8") or "utf-8"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeError):
        return payload.decode("utf-8", "replace")


def _bodies(msg: Message) -> tuple[str, str]:
    """(text, html) of the mail's own parts (see :func:`_own_parts`)."""
    text: list[str] = []
    html: list[str] = []
    for part in _own_parts(msg):
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html"):
            with contextlib.suppress(Exception):  # an undecodable part says nothing
                (html if kind == "text/html" else text).append(_decoded(part))
    return sound("\n".join(t for t in text if t)), sound("\n".join(h for h in html if h))


def _addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(address for value in values for _, address in _mailboxes(value))


def parse(raw: bytes) -> InboundMessage:
    """Parse one message; raise :class:`ParseError` when it has nothing to work with."""
    if not raw.strip():
        raise ParseError("empty message")
    try:
        mail = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # mail-parser raises a variety of types on hostile input
        raise ParseError(f"unparseable MIME: {type(exc).__name__}: {exc}") from exc
    msg = mail.message
    headers: dict[str, list[str]] = {}
    undecoded: dict[str, list[str]] = {}  # addresses are read before decoding (see below)
    for name, value in msg.items():
        headers.setdefault(str(name).lower(), []).append(header_text(value))
        sent = _raw_8bit(value) if isinstance(value, Header) else str(value)
        undecoded.setdefault(str(name).lower(), []).append(clean(sent))
    if not headers:
        raise ParseError("no headers")

    def first(name: str) -> str:
        return headers.get(name, [""])[0]

    # Addresses come from the header as sent (see _mailboxes): an encoded word is only ever a
    # display name, never a recipient.
    sent_from = undecoded.get("from", [""])[0]
    senders = _mailboxes(sent_from)
    from_name, from_address = senders[0] if senders else ("", "")
    if not senders and "@" in sent_from and not sent_from.isascii():
        raise ParseError(
            f"the sender's address ({sent_from[:120]}) has letters outside ASCII before the @"
            " (internationalized mail, SMTPUTF8): we cannot write to it; answer from your"
            " own mail client"
        )
    return_path: str | None = None
    if "return-path" in headers:
        path = undecoded["return-path"][0].strip()
        return_path = "" if path in ("<>", "") else next(iter(_addresses((path,))), "")

    ids = _MSGID.findall(first("message-id"))
    has_id = bool(ids)
    message_id = ids[0] if ids else f"<{hashlib.sha256(raw).hexdigest()[:32]}@no-message-id>"
    in_reply_to = (_MSGID.findall(first("in-reply-to")) or [""])[0]
    references = tuple(_MSGID.findall(" ".join(headers.get("references", []))))

    date: datetime | None
    try:
        date = parsedate_to_datetime(first("date")) if first("date") else None
    except (TypeError, ValueError, IndexError):
        date = None
    if date is not None and date.tzinfo is None:
        date = None

    attachments = tuple(clean(str(a.get("filename") or "")) for a in (mail.attachments or []))
    text, html = _bodies(msg)
    return InboundMessage(
        message_id=message_id,
        subject=first("subject"),
        from_address=from_address,
        from_name=clean(from_name),
        to=_addresses(tuple(undecoded.get("to", []))),
        cc=_addresses(tuple(undecoded.get("cc", []))),
        in_reply_to=in_reply_to,
        references=references,
        date=date,
        headers={k: tuple(v) for k, v in headers.items()},
        text=text,
        html=html,
        return_path=return_path,
        content_type=msg.get_content_type(),
        size=len(raw),
        has_message_id=has_id,
        delivered_to=_addresses(
            tuple(undecoded.get("delivered-to", []) + undecoded.get("x-original-to", []))
        ),
        attachments=attachments,
        attached=_attached_messages(msg),
        part_types=_part_types(msg),
    )
