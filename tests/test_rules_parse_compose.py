"""Parsing, the loop guard chain and composing: pure, no servers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from gateway.core.clock import FakeClock
from gateway.core.config import parse_config
from gateway.core.models import Ticket, TicketState
from gateway.mail.inbound import ParseError, parse
from gateway.mail.mime import Composer, Envelope, ticket_subject
from gateway.rules import Ours, classify
from tests.conftest import customer_mail

OURS = Ours(frozenset({"support@example.com"}), "example.com")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "human"),
        ({"Auto-Submitted": "no"}, "human"),
        ({"Auto-Submitted": "auto-replied"}, "auto-reply"),
        ({"Auto-Submitted": "auto-generated; type=x"}, "auto-reply"),
        ({"Precedence": "bulk"}, "list"),
        ({"Precedence": "junk"}, "list"),
        ({"Precedence": "list"}, "list"),
        ({"List-Id": "<users.lists.example>"}, "list"),
        ({"List-Unsubscribe": "<mailto:u@x.example>"}, "list"),
        ({"X-Autoreply": "yes"}, "auto-reply"),
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, "auto-reply"),
        ({"Return-Path": "<>"}, "bounce"),
        ({"X-Loop": "support@example.com"}, "own"),
    ],
)
def test_classification(headers: dict[str, str], expected: str) -> None:
    msg = parse(customer_mail(1, headers=headers))
    assert classify(msg, OURS)[0] == expected


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("MAILER-DAEMON@mx.acme.example", "bounce"),
        ("postmaster@acme.example", "bounce"),
        ("support@example.com", "own"),
        ("jane@acme.example", "human"),
    ],
)
def test_system_and_own_senders(sender: str, expected: str) -> None:
    assert classify(parse(customer_mail(1, sender=sender)), OURS)[0] == expected


def test_our_own_message_id_coming_back_is_recognised() -> None:
    ours = b"<SUP-1001.ack.0123456789abcdef0123@example.com>"
    raw = customer_mail(1).replace(b"<customer-1@acme.example>", ours)
    verdict, results = classify(parse(raw), OURS)
    assert verdict == "own"
    assert "made by this gateway" in results[-1].reason
    # A colleague on our domain is not us.
    staff = customer_mail(1, sender="sam@example.com")
    assert classify(parse(staff), OURS)[0] == "human"


def test_parse_reads_what_the_pipeline_needs() -> None:
    raw = customer_mail(
        7, subject="=?utf-8?q?R=C3=A9sum=C3=A9_broken?=", in_reply_to="<ack-1@example.com>"
    )
    msg = parse(raw)
    assert msg.subject == "Résumé broken"
    assert msg.from_address == "jane@acme.example" and msg.from_name == "Jane Customer"
    assert msg.thread_ids == ("<ack-1@example.com>",)
    assert msg.utc_offset_minutes == -300
    assert "error E42" in msg.text


def test_parse_refuses_nothing_to_work_with() -> None:
    with pytest.raises(ParseError):
        parse(b"   \r\n")


def test_missing_message_id_gets_a_stable_one() -> None:
    raw = b"From: a@b.example\r\nSubject: x\r\n\r\nhello\r\n"
    assert parse(raw).message_id == parse(raw).message_id
    assert not parse(raw).has_message_id


def _ticket(subject: str, name: str = "Jane") -> Ticket:
    return Ticket(
        id=1,
        key="SUP-1001",
        subject=subject,
        customer_address="jane@acme.example",
        customer_name=name,
        customer_utc_offset=None,
        account="Acme",
        se="sam@example.com",
        sc="casey@example.com",
        state=TicketState.NEW,
        received_at=datetime(2026, 11, 23, 15, tzinfo=ZoneInfo("UTC")),
        last_customer_message_id="<c-1@acme.example>",
        references=("<c-0@acme.example>",),
    )


def test_subject_gets_re_and_token_once() -> None:
    assert ticket_subject(_ticket("Help")) == "Re: Help [SUP-1001]"
    assert ticket_subject(_ticket("RE: Help [SUP-1001]")) == "Re: Help [SUP-1001]"


def test_composed_mail_is_threaded_marked_and_escaped() -> None:
    config = parse_config(
        {
            "imap": {"enabled": False},
            "people": [{"name": "S", "address": "sam@example.com", "role": "se"}],
            "routing": {"default_se": "sam@example.com"},
        }
    )
    composer = Composer(config, FakeClock(datetime(2026, 11, 23, 15, tzinfo=ZoneInfo("UTC"))))
    hostile = _ticket("Hi\r\nBcc: victim@evil.example", name="<script>alert(1)</script>")
    out = composer.build(
        "ack",
        "ack",
        hostile,
        Envelope(to=("jane@acme.example",), cc=("casey@example.com",)),
        {
            "customer_name": hostile.customer_name,
            "se_name": "Sam",
            "late_intake": False,
            "missed_words": "",
            "actionable_words": "Tuesday",
            "resolution_words": "Friday",
            "received_words": "Monday",
            "points": ["<b>Why?</b>"],
            "problem": "The <script>alert(1)</script> export fails.",
            "concern": "",
            "concern_told": "",
            "asks": [],
            "resolution_promised": False,
            "articles": [],
            "reopened": False,
            "forwarded": None,
            "sc_points": [],
            "sc_owner_name": "",
            "sc_words": "",
        },
        auto_submitted="auto-replied",
    )
    msg = message_from_bytes(out.raw, policy=policy.default)
    assert msg["Bcc"] is None and "victim" not in (msg["To"] + msg["Cc"])
    assert msg["Subject"] == "Re: Hi Bcc: victim@evil.example [SUP-1001]"
    assert msg["In-Reply-To"] == "<c-1@acme.example>"
    assert msg["References"] == "<c-0@acme.example> <c-1@acme.example>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert out.message_id == msg["Message-ID"] and out.message_id.endswith("@example.com>")
    assert out.recipients == ("jane@acme.example", "casey@example.com")
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Why?</b>" not in html and "&lt;b&gt;Why?&lt;/b&gt;" in html  # a point, escaped
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "> The <script>alert(1)</script> export fails." in text  # plain text: no escaping
    assert text.startswith("Hello,"), "a display name that is no name gets no 'Dear'"


def _se_copy(
    raw: bytes,
    subject: str = "[SUP-1001] New: Ayuda",
    ticket: Ticket | None = None,
    **context_changes: object,
) -> bytes:
    """The SE copy of ``raw`` (a Spanish-speaking customer unless ``context_changes`` say
    otherwise), as the bytes the relay would get."""
    config = parse_config(
        {
            "imap": {"enabled": False},
            "support": {"display_name": "Soporte Técnico"},
            "people": [{"name": "S", "address": "sam@example.com", "role": "se"}],
            "routing": {"default_se": "sam@example.com"},
        }
    )
    composer = Composer(config, FakeClock(datetime(2026, 11, 23, 15, tzinfo=ZoneInfo("UTC"))))
    context = {
        "customer_name": "José",
        "se_name": "Sam",
        "sc_name": "",
        "received_words": "Monday",
        "actionable_words": "Tuesday",
        "resolution_words": "Friday",
        "follow_up": False,
        "route_reason": "default",
        "customer_text": "¿Por qué falla la exportación?",
        "points": ["¿Por qué falla la exportación?"],
        "triage": False,
        "sender_address": "jose@cliente.example",
        "participants": ["jose@cliente.example"],
        "mentions": "",
        "forwarded": None,
        "files": [],
        "original_left_out": "",
        "inbox_id": 1,
        "mentions_why": "",
        "reopened": False,
        "new_points": [],
        "new_points_words": "",
        "owner_name": "Sam",
        "priority": "normal",
        "language_name": "",
        "product": "",
        "capacity_note": "",
        "at_risk": "",
        "at_risk_told": "",
        "urgent": "",
        "urgent_applied": True,
        "deadline_words": "",
        "deadline_said": "",
        "deadline_after": [],
        "pending": [],
        "sc_points": [],
        "sc_owner_name": "",
        "sc_words": "",
        **context_changes,
    }
    envelope = Envelope(to=("sam@example.com",), reply_to="support+sup-1001.x@example.com")
    ticket = ticket or _ticket("Ayuda")
    return composer.build(
        "se-copy", "se_copy", ticket, envelope, context, subject=subject, attach_raw=raw
    ).raw


def _attachment(raw: bytes) -> tuple[str, bytes]:
    msg = message_from_bytes(raw, policy=policy.default)
    (part,) = list(msg.iter_attachments())
    if part.get_content_type() == "message/rfc822":
        return part.get_content_type(), part.get_payload(0).as_bytes()
    return part.get_content_type(), part.get_content()


def test_the_original_goes_to_the_se_byte_for_byte_even_in_8bit() -> None:
    original = (
        "From: =?utf-8?q?Jos=C3=A9?= <jose@cust.example>\r\nSubject: ayuda\r\n"
        "Message-ID: <j-1@cust.example>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n¿Por qué falla la exportación?\r\n"
    ).encode()
    out = _se_copy(original)
    assert original in out  # not re-encoded: exactly what the customer sent
    kind, attached = _attachment(out)
    assert kind == "message/rfc822"
    assert parse(attached).text.strip() == "¿Por qué falla la exportación?"
    # Bare LF line ends (as some MTAs store mail) become CRLF; nothing else changes.
    lf = b"From: a@cust.example\nSubject: plain\n\nline one\nline two\n"
    assert b"From: a@cust.example\r\nSubject: plain\r\n\r\nline one\r\nline two\r\n" in (
        _se_copy(lf)
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@cust.example\r\n\r\n" + b"x" * 2000 + b"\r\n",  # a line SMTP cannot carry
        b"From: a@cust.example\r\n\r\nnul \0 byte\r\n",
        b"just some bytes, no header block",
    ],
)
def test_an_original_smtp_cannot_carry_is_attached_as_a_file(raw: bytes) -> None:
    kind, attached = _attachment(_se_copy(raw))
    assert (kind, attached) == ("application/octet-stream", raw)


def test_non_ascii_headers_are_encoded_and_line_breaks_refused() -> None:
    msg = message_from_bytes(_se_copy(b"From: a@x.example\r\n\r\nhi\r\n"), policy=policy.default)
    assert str(msg["From"]) == "Soporte Técnico <support@example.com>"
    out = _se_copy(b"From: a@x.example\r\n\r\nhi\r\n", subject="[SUP-1001] ¿Qué pasa?")
    head = out.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # RFC 2047 words, no raw 8-bit in headers
    assert message_from_bytes(out, policy=policy.default)["Subject"] == "[SUP-1001] ¿Qué pasa?"
    # Subjects are made one line before this; anything else with a line break is refused.
    forged = replace(_ticket("x"), last_customer_message_id="<a@x>\r\nBcc: victim@evil.example")
    with pytest.raises(ValueError, match="In-Reply-To would contain a line break"):
        _se_copy(b"From: a@x.example\r\n\r\nhi\r\n", ticket=forged)


def test_a_very_long_line_from_the_customer_still_makes_sendable_mail() -> None:
    one_line = "word " * 1000  # one 5,000-character line, plain ASCII
    out = _se_copy(
        b"From: a@x.example\r\n\r\nhi\r\n", customer_name="Ann", customer_text=one_line, points=[]
    )
    assert max(len(line) for line in out.split(b"\r\n")) <= 998
    text = message_from_bytes(out, policy=policy.default).get_body(preferencelist=("plain",))
    assert one_line in text.get_content()
