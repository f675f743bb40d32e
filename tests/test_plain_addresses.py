"""The plain address headers read without the standard library's parser
(gateway/mail/plain_addresses.py) give what that parser gives, on real headers and on drawn ones;
anything outside the plain form is left to the parser. Pure logic: no servers."""

from __future__ import annotations

import string
from email.headerregistry import Address
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.mail.inbound import _HEADERS, addresses_in, clean, mailboxes_in
from gateway.mail.plain_addresses import plain_mailboxes

DATA = Path(__file__).parent / "data"
ADDRESS_HEADERS = ("from", "to", "cc", "reply-to", "sender", "return-path", "delivered-to")


def as_tuples(addresses: tuple[Address, ...]) -> list[tuple[str, str, str, str]]:
    return [(a.display_name, a.username, a.domain, a.addr_spec) for a in addresses]


def standard(value: str) -> list[tuple[str, str, str, str]]:
    """What the standard library's parser reads in ``value``."""
    return as_tuples(_HEADERS("to", value).addresses)


def same_as_the_parser(value: str) -> bool:
    """Whether the plain reading took ``value``; when it did, it must equal the parser's."""
    plain = plain_mailboxes(value)
    if plain is None:
        return False
    assert as_tuples(plain) == standard(value), value
    return True


def real_headers() -> list[str]:
    """Every address header of the real mails in tests/data (mail clients' replies, MTAs'
    bounces, forwards, the corpus; sources and licences in tests/data's README files)."""
    parser = BytesHeaderParser(policy=compat32)
    found = []
    for path in sorted(DATA.rglob("*.eml")):
        headers = parser.parsebytes(path.read_bytes())
        for name in ADDRESS_HEADERS:
            found += [clean(str(v)) for v in headers.get_all(name) or []]
    return found


def test_real_headers_read_plainly_are_read_as_the_parser_reads_them() -> None:
    headers = real_headers()
    taken = [h for h in headers if same_as_the_parser(h)]
    assert len(headers) > 60
    assert len(taken) > len(headers) * 3 // 4, "most real headers take the short way"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("jane@acme.example", [("", "jane", "acme.example")]),
        ("Jane Doe <jane@acme.example>", [("Jane Doe", "jane", "acme.example")]),
        ('"Doe, Jane" <jane@acme.example>', [("Doe, Jane", "jane", "acme.example")]),
        ("<jane@acme.example>", [("", "jane", "acme.example")]),
        (
            "Jane <jane@acme.example>, bob.smith+x@Globex.Example",
            [("Jane", "jane", "acme.example"), ("", "bob.smith+x", "Globex.Example")],
        ),
        ('"<evil@x.example>" <jane@acme.example>', [("<evil@x.example>", "jane", "acme.example")]),
    ],
)
def test_plain_headers_are_read_as_written(value: str, expected: list[tuple[str, ...]]) -> None:
    plain = plain_mailboxes(value)
    assert plain is not None
    assert [(a.display_name, a.username, a.domain) for a in plain] == expected
    assert as_tuples(plain) == standard(value)


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?x=40evil.example?= <jane@acme.example>",  # an encoded word: decoded there
        '"=?utf-8?q?Jane?=" <jane@acme.example>',
        "jane@acme.example (Jane Doe)",  # a comment
        "team: jane@acme.example, bob@acme.example;",  # a group
        '"jane doe"@acme.example',  # a quoted local part
        '"Jane \\"the boss\\" Doe" <jane@acme.example>',  # escapes
        "jane@[127.0.0.1]",  # a domain literal
        "Jösé <jose@acme.example>",  # non-ASCII: the parser decides
        "jane@acme.example,",  # an empty member
        "jane..doe@acme.example",  # not a dot-atom
        "Jane <jane@acme.example",  # unclosed
        "jane@acme.example bob@acme.example",  # two addresses, no comma
        "",
    ],
)
def test_anything_else_is_left_to_the_parser(value: str) -> None:
    assert plain_mailboxes(value) is None


def test_an_encoded_word_is_still_only_ever_a_name() -> None:
    """What the full parser guaranteed before (see gateway/mail/inbound.py) still holds."""
    assert addresses_in("=?utf-8?q?x=40evil.example?= <jane@acme.example>") == ["jane@acme.example"]
    assert mailboxes_in("Jane Doe <Jane@ACME.Example>") == [("Jane Doe", "Jane@acme.example")]


# Headers drawn from every character that matters to the grammar, in mailbox-shaped pieces
# (most are not plain; what is must read as the parser reads it), and near-plain ones (most
# are plain).
GRAMMAR = list("aZ09.@<>,;: \t\"\\()[]=?'#-_!{}~%+/^`|&*$é\x00\x7f")
ATEXT = list("aZ09!#$%&'*+/=^_`{|}~-")
SPACE = st.sampled_from(["", " ", "  ", "\t", " \t "])


def mailbox(name: st.SearchStrategy[str], local: st.SearchStrategy[str]) -> st.SearchStrategy:
    domain = st.one_of(
        st.text(alphabet=st.sampled_from(GRAMMAR), max_size=8),
        st.lists(
            st.text(alphabet=st.sampled_from(list("aZ09-")), min_size=1, max_size=5),
            min_size=1,
            max_size=3,
        ).map(".".join),
    )
    return st.one_of(
        st.tuples(SPACE, name, SPACE, local, domain, SPACE).map(
            lambda t: f"{t[0]}{t[1]}{t[2]}<{t[3]}@{t[4]}>{t[5]}"
        ),
        st.tuples(SPACE, local, domain, SPACE).map(lambda t: f"{t[0]}{t[1]}@{t[2]}{t[3]}"),
    )


ENCODED = st.sampled_from(["=?utf-8?q?Jane?=", "=?utf-8?b?SmFuZQ==?=", "=?iso-8859-1?q?J=E9?="])
ANY_WORD = st.one_of(st.text(alphabet=st.sampled_from(GRAMMAR), max_size=8), ENCODED)
ATOM = st.text(alphabet=st.sampled_from(ATEXT), min_size=1, max_size=6)
DOT_ATOM = st.lists(ATOM, min_size=1, max_size=3).map(".".join)
HOSTILE = mailbox(
    st.one_of(
        ANY_WORD, ANY_WORD.map(lambda w: f'"{w}"'), st.lists(ANY_WORD, max_size=3).map(" ".join)
    ),
    st.one_of(ANY_WORD, DOT_ATOM),
)
NEAR_PLAIN = mailbox(
    st.one_of(
        st.lists(ATOM, min_size=1, max_size=3).map(" ".join),
        st.one_of(
            st.text(alphabet=st.sampled_from(list(string.printable[:95])), max_size=10), ENCODED
        ).map(lambda w: f'"{w}"'),
    ),
    DOT_ATOM,
)
DRAWN = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@DRAWN
@given(st.lists(HOSTILE, min_size=1, max_size=3).map(",".join))
def test_drawn_headers_read_plainly_are_read_as_the_parser_reads_them(value: str) -> None:
    same_as_the_parser(value)


@DRAWN
@given(st.lists(NEAR_PLAIN, min_size=1, max_size=3).map(",".join))
def test_near_plain_drawn_headers_are_read_as_the_parser_reads_them(value: str) -> None:
    same_as_the_parser(value)
