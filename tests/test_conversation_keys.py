"""Conversation keys (gateway/mail/conversation.py): read from the headers alone, before the parse;
two mails of one conversation share one, and nothing a sender writes makes many or breaks it."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.mail import conversation
from gateway.store import inbox
from gateway.store.db import MIGRATIONS, bind, statements
from tests.conftest import MONDAY_10, customer_mail

DATA = Path(__file__).parent / "data"


def shared(a: bytes, b: bytes) -> set[int]:
    return set(conversation.keys(a)) & set(conversation.keys(b))


def test_a_reply_and_the_mail_it_answers_share_a_key_whoever_writes_it() -> None:
    first = customer_mail(1, sender="jane@acme.example")
    colleague = customer_mail(
        "1-cc", sender="joe@acme.example", subject="Re: x", in_reply_to="<customer-1@acme.example>"
    )
    assert shared(first, colleague)


def test_two_mails_of_one_sender_share_a_key_whatever_the_case_of_the_domain() -> None:
    assert shared(
        customer_mail(1, sender="jane@acme.example"),
        customer_mail(2, sender="jane@ACME.example", subject="Another thing"),
    )


def test_a_ticket_token_counts_also_in_an_encoded_subject() -> None:
    plain = customer_mail(1, sender="a@one.example", subject="[SUP-1042] still broken")
    encoded = customer_mail(2, sender="b@two.example", subject="x")
    encoded = encoded.replace(b"Subject: x", b"Subject: =?utf-8?q?=5BSUP-1042=5D_r=C3=A9ponse?=")
    assert shared(plain, encoded)


def test_strangers_writing_about_different_things_share_no_key() -> None:
    assert not shared(
        customer_mail(1, sender="jane@acme.example"),
        customer_mail(2, sender="bob@globex.example"),
    )


def test_no_header_makes_more_than_a_bounded_number_of_keys() -> None:
    refs = " ".join(f"<r{n}@spam.example>" for n in range(10_000))
    tokens = " ".join(f"[X{n}-{n}]" for n in range(1_000))
    raw = customer_mail(1, subject=tokens, headers={"References": refs})
    assert 0 < len(conversation.keys(raw)) <= conversation.MAX_KEYS


def test_bytes_that_are_no_mail_make_no_keys_and_no_error() -> None:
    for raw in (b"", b"\x00\xff\xfe" * 1000, b"From: \r\n\r\n", b"Subject: =?x?q?\xff?=\n\n"):
        assert all(isinstance(k, int) for k in conversation.keys(raw))


def test_keys_are_kept_only_while_the_mail_waits() -> None:
    """The store keeps a message's keys while it is new; done or held, it keeps nobody
    waiting (a held message does not stop the rest of its conversation)."""
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.row_factory = sqlite3.Row
    for script in MIGRATIONS:
        for statement in statements(script):
            con.execute(statement)
    db = bind(con)
    first = inbox.store_raw(
        db,
        customer_mail(1),
        MONDAY_10,
        MONDAY_10,
        source="test",
        keys=conversation.keys(customer_mail(1)),
    )
    again = customer_mail(2, subject="Re: x", in_reply_to="<customer-1@acme.example>")
    second = inbox.store_raw(
        db, again, MONDAY_10, MONDAY_10, source="test", keys=conversation.keys(again)
    )
    assert first and second
    row = inbox.next_new(db, MONDAY_10)
    assert row is not None and row.id == first
    assert inbox.next_new(db, MONDAY_10, after_id=first) is None, "its turn comes after the first"
    inbox.hold(db, first, "a bug of ours", MONDAY_10)
    row = inbox.next_new(db, MONDAY_10, after_id=first)
    assert row is not None and row.id == second, "a held message keeps nobody waiting"


def test_a_sender_the_header_parser_trips_on_makes_no_error() -> None:
    raw = b"From: a:b@c;d\nMessage-ID: <x@y>\nSubject: [SUP-9] x\n\nhi\n"
    assert len(conversation.keys(raw)) == 2, "the Message-ID and the token; no sender"


def _keys_reading_everything(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The keys as they were read before the parse stopped at the blank line (the parser fed
    the whole first 256 KiB)."""
    with monkeypatch.context() as m:
        m.setattr(conversation, "_HEADER_END", re.compile(rb"(?!)"))  # never found
        return conversation.keys(raw)


def test_reading_up_to_the_blank_line_finds_the_same_keys_in_real_mail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every mail of the test corpus (bounces, auto-replies, clients' replies, forwards)."""
    mails = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix in (".eml", ".txt"))
    assert len(mails) > 100
    for path in mails:
        raw = path.read_bytes()
        assert conversation.keys(raw) == _keys_reading_everything(raw, monkeypatch), path.name


_LINE_END = st.sampled_from([b"\r\n", b"\n", b"\r"])
_HEADER = st.sampled_from(
    [
        b"From: Jane <jane@acme.example>",
        b"From: =?utf-8?q?J=C3=A9r=C3=B4me?= <j@x.example>",
        b"Subject: Re: [SUP-12] still broken",
        b"Subject: =?utf-8?b?W1NVUC0zNF0gaMOpbGFz?=",
        b"Message-ID: <m1@acme.example>",
        b"In-Reply-To: <m0@acme.example>",
        b"References: <r1@a.example>\t<r2@a.example>",
        b"\t<folded@a.example> SUP-99",
        b" continued",
        b"X-Odd: \r",
        b"not a header line",
        b"",
        b"From: Second <second@b.example>",
        b"Subject: SUP-56 in the body?",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.tuples(_HEADER, _LINE_END), max_size=14),
    body=st.binary(max_size=200),
)
def test_reading_up_to_the_blank_line_finds_the_same_keys_whatever_the_line_ends(
    lines: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """Headers with any line ends (CRLF, LF, bare CR, mixed), folded, broken or missing, blank
    lines anywhere, any body after them: the same keys as reading everything."""
    raw = b"".join(line + end for line, end in lines) + body
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert conversation.keys(raw) == _keys_reading_everything(raw, monkeypatch)
