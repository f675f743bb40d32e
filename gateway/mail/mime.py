"""The only place that builds MIME: templates -> :class:`Outbound`.

Every mail gets a Message-ID on our domain (fixed here, before it is queued, so a resend after a
crash carries the same one), the thread headers, ``Auto-Submitted`` and
``X-Auto-Response-Suppress: All`` (RFC 3834: robots must not answer us), and ``X-Loop`` naming
the support address (so our own mail coming back is recognised). Customer text only ever reaches
templates as data; HTML templates autoescape it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from typing import Any, cast
from zoneinfo import ZoneInfo

from gateway.core.clock import Clock
from gateway.core.config import Config
from gateway.core.models import MailKind, Outbound, Ticket
from gateway.mail.attachments import Attachment
from gateway.mail.flatten import flatten
from gateway.mail.inbound import clean
from gateway.mail.samples import problems
from gateway.mail.subjects import bare, reply_subject
from gateway.mail.templating import (
    CUSTOMER,
    Template,
    common_context,
    environment,
    render_parts,
    with_greeting,
)
from gateway.promise.routing import Directory
from gateway.text.speech import ENGLISH, Speech, languages


# compat32 keeps header values as the strings we give it: building a mail this way costs a
# quarter of the header-parsing email.policy.SMTP (measured; see README "Benchmark"). What that
# policy checked, _header() checks: no line breaks, RFC 2047 for non-ASCII text.
class _Policy(Compat32):
    """compat32 that writes a short one-line ASCII header as it is instead of running it
    through the folding machinery (most of the remaining cost of building a mail)."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + len(value) + 2 <= (self.max_line_length or 998)
            and not any(c in value for c in "\r\n")
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_POLICY = _Policy(linesep="\r\n")
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_UTF8.header_encoding = QP
_ADDRESS_HEADERS = frozenset({"From", "To", "Cc", "Reply-To"})


# Nothing we send may be refused for its form: every header line must fit SMTP's 998 octets.
SUBJECT_MAX = 160  # characters of the customer's subject we repeat; longer ones end in "…"
THREAD_ID_MAX = 250  # a longer Message-ID is not carried in In-Reply-To / References
REFERENCES_MAX = 20  # the newest Message-IDs of a thread that References keeps


def cut(text: str, limit: int = SUBJECT_MAX) -> str:
    """One line of at most ``limit`` characters, ending in an ellipsis when it was longer."""
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def ticket_subject(ticket: Ticket) -> str:
    """'Re: <customer's subject, bare> [SUP-1001]': one prefix and only this ticket's token,
    however many the thread collected (a token of another ticket must not thread there)."""
    return reply_subject(ticket.subject, ticket.key, cut)


def staff_subject(ticket: Ticket, label: str, subject: str = "") -> str:
    """'[SUP-1001] <label>: <subject, bare>' for our own people: the token first (their clients
    sort by it), the customer's words without prefixes or other tokens."""
    words = bare(subject or ticket.subject, ticket.key.rpartition("-")[0])
    return f"[{ticket.key}] {label}: {cut(words) or '(no subject)'}"


@dataclass(frozen=True)
class Envelope:
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    reply_to: str = ""


def customer_envelope(
    ticket: Ticket, people: list[str], to: str = "", reply_to: str = ""
) -> Envelope:
    """A customer-facing mail: to ``to`` (the requester unless said), every other participant
    and the SC in CC (the customer's "reply all" is respected), nobody twice."""
    to = to or ticket.customer_address
    seen = {to.lower()}
    cc = []
    for address in [*people, *([ticket.sc] if ticket.sc else [])]:
        if address.lower() not in seen:
            seen.add(address.lower())
            cc.append(address)
    return Envelope(to=(to,), cc=tuple(cc), reply_to=reply_to)


class Composer:
    def __init__(self, config: Config, clock: Clock, directory: Directory | None = None) -> None:
        self.config = config
        self.clock = clock
        self.env = environment(config.templates_dir)
        self.speeches = languages(config.templates_dir)
        self.directory = directory or Directory(config)
        self.tz = ZoneInfo(config.hours.timezone)

    def speech(self, language: str) -> Speech:
        """The words of ``language``, English when we have none for it."""
        return self.speeches.get(language) or self.speeches[ENGLISH]

    def template_problems(self) -> list[tuple[str, str]]:
        """Every template file that does not render with sample data, and why (empty: all
        good). ``check-config``, start-up and reload refuse a set with problems."""
        support = self.config.support
        common = common_context(support.display_name, support.address, support.our_color)
        return list(problems(self.env, common, self.speeches))

    def _sc_covered(self, envelope: Envelope, ticket: Ticket) -> Envelope:
        """The ticket's SC, while away, replaced by who covers them on every mail (see
        :meth:`Directory.sc_cover`)."""
        today = self.clock.now().astimezone(self.tz).date()
        cover = self.directory.sc_cover(ticket.sc, ticket.account, today)
        if cover == ticket.sc:
            return envelope

        def swap(addresses: tuple[str, ...]) -> tuple[str, ...]:
            out = [cover if a.lower() == ticket.sc.lower() else a for a in addresses]
            return tuple(dict.fromkeys(out))

        return Envelope(swap(envelope.to), swap(envelope.cc), envelope.reply_to)

    def new_message_id(self, ticket_key: str, kind: MailKind) -> str:
        return f"<{ticket_key}.{kind}.{uuid.uuid4().hex[:20]}@{self.config.support.domain}>"

    def build(
        self,
        kind: MailKind,
        template: Template,
        ticket: Ticket | None,
        envelope: Envelope,
        context: dict[str, Any],
        *,
        subject: str | None = None,
        auto_submitted: str | None = "auto-generated",
        attach_raw: bytes | None = None,
        from_name: str | None = None,
        answers: str = "",
        files: Sequence[Attachment] = (),
        language: str = "",
    ) -> Outbound:
        """Render ``template``.txt.j2 and .html.j2 into a threaded mail for ``ticket``.

        Templates get the ticket, the support name, address and colour, and ``context``; the
        customer's mail is written in the ticket's language (see :mod:`gateway.text.speech`). A mail
        on no ticket (``None``: a question about a mail we could not file) answers the
        Message-ID ``answers`` and must be given its ``subject``. ``files`` go with it: inline
        images beside the HTML (``multipart/related``, their Content-IDs kept), the rest as
        attachments. ``language`` writes a customer's mail on no ticket (an account's report)
        in theirs.
        """
        support = self.config.support
        if ticket is not None and ticket.sc:
            envelope = self._sc_covered(envelope, ticket)
        ctx = with_greeting(
            {
                **common_context(support.display_name, support.address, support.our_color),
                "ticket": ticket,
                **context,
            }
        )
        speech = self.speech(
            (language or (ticket.language if ticket else ENGLISH))
            if template in CUSTOMER
            else ENGLISH
        )
        txt, html = render_parts(self.env, template, ctx, speech)
        body: Message = MIMEMultipart("alternative", _boundary(), policy=_POLICY)
        body.attach(_text(txt, "plain"))
        body.attach(_text(html, "html"))
        images = [_attachment(f) for f in files if f.inline]
        if images:
            body = MIMEMultipart("related", _boundary(), [body, *images], policy=_POLICY)
        attached = [_original(attach_raw)] if attach_raw is not None else []
        attached += [_attachment(f) for f in files if not f.inline]
        if attached:
            body = MIMEMultipart("mixed", _boundary(), [body, *attached], policy=_POLICY)
        message_id = self.new_message_id(ticket.key if ticket else "unfiled", kind)
        name = clean(from_name or support.display_name)
        thread = [*ticket.references, ticket.last_customer_message_id] if ticket else [answers]
        headers = {
            "Message-ID": message_id,
            "Date": format_datetime(self.clock.now()),
            "From": formataddr((name, support.address)),
            "To": ", ".join(envelope.to),
            "Cc": ", ".join(envelope.cc),
            "Reply-To": envelope.reply_to or support.address,
            "Subject": ticket_subject(ticket)
            if subject is None and ticket is not None
            else cut(subject or "", 2 * SUBJECT_MAX),
            "In-Reply-To": _thread_ids(thread[-1:]),
            "References": _thread_ids(thread),
            # None: a person's words, relayed (RFC 3834 covers only robots)
            "Auto-Submitted": auto_submitted or "",
            "X-Auto-Response-Suppress": "All",
            "X-Loop": support.address,
            "X-Support-Ticket": ticket.key if ticket else "",
            "X-Support-Kind": kind,  # lets SEs filter, and tests tell our mails apart
        }
        for header, value in headers.items():
            if value:
                body[header] = _header(header, value)
        recipients = tuple(dict.fromkeys([*envelope.to, *envelope.cc]))
        return Outbound(kind, message_id, support.address, recipients, flatten(body, _POLICY))


def _thread_ids(ids: list[str]) -> str:
    """The thread's Message-IDs we can carry: no absurdly long one, the newest few."""
    kept = [i for i in dict.fromkeys(ids) if i and len(i) <= THREAD_ID_MAX]
    return " ".join(kept[-REFERENCES_MAX:])


def _header(name: str, value: str) -> str:
    """A header value as compat32 stores it; nothing may smuggle in a line break. (A Header is
    what compat32 takes for non-ASCII text; the stubs type every header value as str.)"""
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} would contain a line break")
    if value.isascii():
        return value
    if name in _ADDRESS_HEADERS:  # formataddr has encoded display names already
        raise ValueError(f"{name} has a non-ASCII address: {value!r}")
    return cast(str, Header(value, _UTF8, header_name=name))


def _boundary() -> str:
    """A fresh random boundary: 122 random bits cannot occur in the parts by chance, so the
    generator's search of the whole text for a collision (a regex compiled per mail) is not
    needed."""
    return f"=_{uuid.uuid4().hex}"


def _text(text: str, subtype: str) -> Message:
    """A text part: 7bit when plain ASCII in lines SMTP can carry, else UTF-8 quoted-printable
    (readable in any client; it wraps a customer's 5,000-character paragraph)."""
    plain = text.isascii() and all(len(line) <= 998 for line in text.splitlines())
    part = MIMENonMultipart(
        "text", subtype, policy=_POLICY, charset="us-ascii" if plain else "utf-8"
    )
    # The encoding set here, not by set_payload(text, charset): that sets the charset parameter
    # a second time, through the email package's slow parameter parser (the same bytes result).
    if plain:
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(text)
    else:
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(_UTF8.body_encode(text))
    return part


def _original(raw: bytes) -> Message:
    """The customer's mail, attached byte for byte as message/rfc822 when SMTP can carry it (lines
    made CRLF), else as a base64 file: a hostile original must never stop the SE's copy."""
    lines = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    sendable = (
        b"\0" not in raw
        and b"" in lines  # a header/body separator: a mail, not just bytes
        and all(len(line) <= 998 for line in lines)
    )
    if not sendable:
        return _file(raw)
    crlf = b"\r\n".join([*lines, b""])
    part = MIMEBase("message", "rfc822", policy=_POLICY)
    part.add_header("Content-Disposition", "attachment")
    if raw.isascii():  # the common case: the bytes go out exactly as they came in
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(crlf.decode("ascii"))
        return part
    # 8-bit: the generator only writes a parsed message back byte for byte (surrogateescape).
    try:
        original = message_from_bytes(crlf, policy=_POLICY)
        original.as_bytes(policy=_POLICY)  # fails here, not at send time
    except Exception:
        return _file(raw)
    part["Content-Transfer-Encoding"] = "8bit"
    part.set_payload([original])
    return part


def _attachment(f: Attachment) -> Message:
    """A file the SE sent, base64, under its safe name (RFC 2231 when not ASCII); an inline
    image keeps its Content-ID so the HTML that names it shows it."""
    maintype, _, subtype = f.content_type.partition("/")
    if maintype.lower() in ("multipart", "message") or not (maintype and subtype):
        # A container type cannot be sent base64 (RFC 2046), and the generator would take
        # its bytes for parts: such a file goes as plain bytes, under its name.
        maintype, subtype = "application", "octet-stream"
    part = MIMEBase(maintype, subtype, policy=_POLICY)
    part.set_payload(f.data)
    encode_base64(part)
    name: str | tuple[str, str, str] = (
        f.filename if f.filename.isascii() else ("utf-8", "", f.filename)
    )
    part.add_header("Content-Disposition", "inline" if f.inline else "attachment", filename=name)
    if f.inline:
        part["Content-ID"] = f"<{f.content_id}>"
    return part


def _file(raw: bytes) -> Message:
    attachment = MIMEApplication(raw, "octet-stream", policy=_POLICY)
    attachment.add_header("Content-Disposition", "attachment", filename="original.eml")
    return attachment
