"""The composer writes its mail with :func:`gateway.mail.flatten.flatten` instead of the standard
library's generator: the bytes must be the generator's, byte for byte, for every mail we send
(every template, with the customer's original and files of any kind attached) and for drawn
parts the generator handles its own way (bare line ends, 8-bit originals, odd content types)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.policy import Policy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core.clock import FakeClock
from gateway.core.config import parse_config
from gateway.core.models import MailKind
from gateway.mail import mime
from gateway.mail.attachments import Attachment
from gateway.mail.flatten import flatten
from tests.golden import CASES

DATA = Path(__file__).parent / "data"
ORIGINALS = sorted(DATA.rglob("*.eml"))


def _same(msg: Message, policy: Policy = mime._POLICY) -> bytes:
    ours = flatten(msg, policy)
    assert ours == msg.as_bytes(policy=policy)
    return ours


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every mail the composer writes, checked against the generator as it is written."""
    written: list[bytes] = []

    def checked(msg: Message, policy: Policy) -> bytes:
        written.append(_same(msg, policy))
        return written[-1]

    monkeypatch.setattr(mime, "flatten", checked)
    yield written


def _composer() -> mime.Composer:
    config = parse_config(
        {
            "imap": {"enabled": False},
            "people": [{"name": "S", "address": "sam@example.com", "role": "se"}],
            "routing": {"default_se": "sam@example.com"},
        }
    )
    return mime.Composer(config, FakeClock(datetime(2026, 11, 23, 15, tzinfo=UTC)))


FILES = [
    Attachment("logo.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "logo@x"),
    Attachment("Übersicht März.pdf", "application/pdf", b"%PDF-1.4\n" + b"\xff" * 300),
    Attachment("notes.txt", "text/plain", "naïve\r\nline\n".encode()),
    Attachment("report", "message/delivery-status", b"Reporting-MTA: dns; x\n"),
    Attachment("sig.p7s", "multipart/signed", b"--b\r\n\r\nx\r\n--b--\r\n"),
    Attachment("odd", "nonsense", b"\x00\x01"),
]


@pytest.mark.parametrize(
    ("name", "template", "context", "ticket"), CASES, ids=[c[0] for c in CASES]
)
def test_every_template_is_written_as_the_generator_writes_it(
    compared: list[bytes], name: str, template: Any, context: dict[str, Any], ticket: Any
) -> None:
    composer = _composer()
    envelope = mime.Envelope(to=("jane@acme.example",), cc=("casey@example.com",))
    subject = None if ticket is not None else "Réponse à votre question"
    for attach_raw, files in ((None, ()), (b"Subject: hi\r\n\r\nbody\r\n", FILES)):
        composer.build(
            MailKind.ACK,
            template,
            ticket,
            envelope,
            context,
            subject=subject,
            answers="<a@b.example>",
            attach_raw=attach_raw,
            files=files,
        )
    assert len(compared) == 2


@pytest.mark.parametrize("path", ORIGINALS, ids=[p.name for p in ORIGINALS])
def test_every_original_of_the_corpus_attaches_as_the_generator_writes_it(
    compared: list[bytes], path: Path
) -> None:
    """Real mail (8-bit, CRLF or LF, long lines, broken MIME) as the SE's copy carries it."""
    _, template, context, ticket = CASES[0]
    envelope = mime.Envelope(to=("sam@example.com",))
    _composer().build(
        MailKind.SE_COPY, template, ticket, envelope, context, attach_raw=path.read_bytes()
    )
    assert len(compared) == 1


_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("\r\n .=-"),
    max_size=300,
)
_LEAF = st.one_of(
    st.builds(mime._text, _TEXT, st.sampled_from(["plain", "html"])),
    st.builds(mime._original, st.binary(max_size=400)),
    st.builds(
        mime._original,
        st.builds(
            lambda h, b: h + b"\r\n\r\n" + b, st.binary(max_size=80), st.binary(max_size=200)
        ),
    ),
    st.builds(
        mime._attachment,
        st.builds(
            Attachment,
            st.text(min_size=1, max_size=20).filter(lambda n: "\r" not in n and "\n" not in n),
            st.sampled_from([f.content_type for f in FILES] + ["text/html", "message/rfc822"]),
            st.binary(max_size=300),
            st.sampled_from(["", "cid@x"]),
        ),
    ),
)


def _multipart(subtype: str, parts: list[Message]) -> Message:
    return MIMEMultipart(subtype, mime._boundary(), parts, policy=mime._POLICY)


_TREE = st.recursive(
    _LEAF,
    lambda inner: st.builds(
        _multipart,
        st.sampled_from(["mixed", "alternative", "related", "signed", "digest"]),
        st.lists(inner, max_size=3),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_TREE, subject=_TEXT)
def test_drawn_mail_is_written_as_the_generator_writes_it(tree: Message, subject: str) -> None:
    value = " ".join(subject.split())
    tree["Subject"] = mime._header("Subject", value or "x")
    tree["References"] = " ".join(f"<{n}.{value[:9]}@x>" for n in range(60)) if value else "<a@x>"
    try:
        expected = tree.as_bytes(policy=mime._POLICY)
    except (UnicodeError, ValueError) as exc:  # the generator refuses it: so must we
        with pytest.raises(type(exc)):
            flatten(tree, mime._POLICY)
        return
    assert flatten(tree, mime._POLICY) == expected


def test_every_file_an_engineer_sends_arrives_whole_whatever_its_type() -> None:
    """A file typed as a container (a delivery report, a signed part) went out as a broken part
    before (the generator took its bytes for parts and failed); it goes as bytes, named."""
    _, template, context, ticket = CASES[0]
    out = _composer().build(
        MailKind.REPLY,
        template,
        ticket,
        mime.Envelope(to=("a@b.example",)),
        context,
        files=FILES,
    )
    parsed = message_from_bytes(out.raw)
    got = {
        part.get_filename(): part.get_payload(decode=True)
        for part in parsed.walk()
        if part.get_filename()
    }
    assert got == {f.filename: f.data for f in FILES}
