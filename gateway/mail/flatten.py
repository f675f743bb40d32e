"""A mail we built, as the bytes we send: exactly what the standard library's ``BytesGenerator``
writes, at a fraction of its cost for the parts the composer makes.

The generator buffers every part twice, looks its handler up by name and re-reads each
Content-Type; writing two mails a message, that was a third of composing (see README
"Benchmark"). Here the common parts are written directly: a multipart with its boundary set, and
a leaf whose payload is ASCII text (7bit, quoted-printable or base64). Anything else (an 8-bit
original, a ``multipart/signed`` or ``message/*`` part, a missing boundary) is handed to the
generator itself, so the bytes are the same either way; ``tests/test_flatten.py`` compares the
two on every template and on drawn mails.
"""

from __future__ import annotations

import re
from email.generator import BytesGenerator
from email.message import Message
from email.policy import Policy
from io import BytesIO
from typing import cast

__all__ = ["flatten"]

# The generator's own line-end pattern: it rewrites every line end of a body to the policy's.
_LINE_END = re.compile(r"\r\n|\r|\n")


def flatten(msg: Message, policy: Policy) -> bytes:
    """``msg.as_bytes(policy=policy)``, byte for byte."""
    out: list[bytes] = []
    _write(msg, policy, out)
    return b"".join(out)


def _write(msg: Message, policy: Policy, out: list[bytes]) -> None:
    maintype = msg.get_content_maintype()
    payload = msg.get_payload()
    nl = policy.linesep
    if maintype == "multipart":
        boundary = msg.get_boundary()
        if (
            not isinstance(payload, list)
            or not all(isinstance(part, Message) for part in payload)
            or not boundary
            or msg.get_content_subtype() == "signed"
            or msg.preamble is not None
            or msg.epilogue is not None
        ):
            out.append(_generated(msg, policy))
            return
        _headers(msg, policy, out)
        parts: list[bytes] = []
        for part in cast(list[Message], payload):
            written: list[bytes] = []
            _write(part, policy, written)
            parts.append(b"".join(written))
        between = f"{nl}--{boundary}{nl}".encode("ascii", "surrogateescape")
        out.append(f"--{boundary}{nl}".encode("ascii", "surrogateescape"))
        out.append(between.join(parts))
        out.append(f"{nl}--{boundary}--{nl}".encode("ascii", "surrogateescape"))
        return
    if maintype == "message" or not isinstance(payload, str) or not payload.isascii():
        out.append(_generated(msg, policy))
        return
    _headers(msg, policy, out)
    out.append(_LINE_END.sub(nl, payload).encode("ascii"))


def _headers(msg: Message, policy: Policy, out: list[bytes]) -> None:
    out.extend(policy.fold_binary(name, value) for name, value in msg.raw_items())
    out.append(policy.linesep.encode("ascii"))


def _generated(msg: Message, policy: Policy) -> bytes:
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(msg, unixfrom=False)
    return buffer.getvalue()
