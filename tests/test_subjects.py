"""Subjects as clients write them: prefixes in many languages and the tokens a thread collects
(pure functions, no servers)."""

from __future__ import annotations

import re

import pytest

from gateway.mail.subjects import Token, bare, reply_subject, strip_prefixes, tokens
from gateway.store.tickets import new_token


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Export fails",
        "RE: RE: Re: Export fails",
        "AW: Re: SV: Fwd: Export fails",  # German, Swedish, forward
        "Re[2]: Export fails",  # The Bat!, old Outlook
        "Re^3: Export fails",
        "Antw: Doorst: Export fails",  # Dutch
        "TR : RE : Export fails",  # French, with its space before the colon
        "RV: Enc: Res: Export fails",  # Spanish, Portuguese
        "R: I: Export fails",  # Italian Outlook
        "Odp: PD: Export fails",  # Polish
        "VS: VL: Export fails",  # Finnish
        "ΑΠ: ΣΧΕΤ: Export fails",  # Greek
        "Отв: Пересл: Export fails",  # Russian
        "回复：转发: Export fails",  # Chinese, full-width colon
        "返信: 転送: Export fails",  # Japanese
        "WG: Export fails",
    ],
)
def test_every_reply_and_forward_prefix_goes(subject: str) -> None:
    assert strip_prefixes(subject) == "Export fails"


def test_a_subject_that_only_starts_like_a_prefix_keeps_its_words() -> None:
    assert strip_prefixes("Reboot loop after update") == "Reboot loop after update"
    assert strip_prefixes("Fwdx: odd") == "Fwdx: odd"
    assert strip_prefixes("[EXTERNAL] Re: Help") == "[EXTERNAL] Re: Help"


def test_one_prefix_and_only_this_tickets_token_in_what_we_send() -> None:
    piled = "AW: Re: [SUP-7] RE: Export fails [SUP-12] (SUP-12) [SUP-9]"
    assert reply_subject(piled, "SUP-12") == "Re: Export fails [SUP-12]"
    assert reply_subject("Re: [SUP-12]", "SUP-12") == "Re: (no subject) [SUP-12]"
    assert reply_subject("Help", "SUP-3", str.upper) == "Re: HELP [SUP-3]"
    # Other bracketed words and other prefixes' tokens are the customer's own.
    assert bare("Re: [urgent] ACME-3 down [SUP-1]", "SUP") == "[urgent] ACME-3 down"


def test_tokens_bracketed_first_then_bare_or_in_parentheses() -> None:
    assert tokens("Re: about SUP-12 (SUP-13) [SUP-14]", "SUP") == [
        Token("SUP-14", True),
        Token("SUP-12", False),
        Token("SUP-13", False),
    ]
    assert tokens("re: sup-12", "SUP") == [Token("SUP-12", False)]
    # Part of a longer word or number is no token.
    assert tokens("XSUP-12 SUP-12a SUP-123456789012 MYSUP-1", "SUP") == []


def test_ticket_tokens_are_unguessable_and_safe_in_an_address() -> None:
    """Ten of 32 letters and digits (no l, o, 0, 1 to misread), every one of them used, and no
    two alike in thousands."""
    tokens = [new_token() for _ in range(4000)]
    assert all(len(t) == 10 and re.fullmatch(r"[a-km-np-z2-9]+", t) for t in tokens)
    assert len(set(tokens)) == len(tokens)
    assert set("".join(tokens)) == set("abcdefghijkmnpqrstuvwxyz23456789")
