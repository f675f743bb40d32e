"""Conversation keys (gateway/mail/conversation.py): read from the headers alone, before the parse;
two mails of one conversation share one, and nothing a sender writes makes many or breaks it."""

from __future__ import annotations

import sqlite3

from gateway.mail import conversation
from gateway.store import inbox
from gateway.store.db import MIGRATIONS, bind, statements
from tests.conftest import MONDAY_10, customer_mail


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
