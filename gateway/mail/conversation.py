"""Which stored mail may belong to the same conversation, read from its headers alone.

Several gateways process stored mail at once (PostgreSQL). Two messages of one conversation
must still be taken in the order they came: a customer's follow-up answered before the mail that
opens its ticket would open a second ticket and a second acknowledgement. So every stored
message carries a few *conversation keys* (its Message-ID, the Message-IDs it answers, its
sender's address, the ticket tokens in its subject), and a message is taken only when no earlier
message that shares a key is still waiting (see ``gateway/store/inbox.py``).

The keys are a cheap over-estimate read before the full parse: two messages that share one may
well be of different conversations (then they wait for each other, nothing worse); two of one
conversation always share one, because a reply names what it answers or comes from the same
address. The keys are hashed to 64-bit integers: the inbox keeps no address in clear for them,
and a header of any length costs the same. Every field comes from the internet: an attacker
can make their own mail wait behind another's, never skip a wait, and never make more than
``MAX_KEYS`` keys.
"""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32

from gateway.mail.inbound import addresses_in, clean, header_text

MAX_KEYS = 24
_MSGID = re.compile(r"<[^<>\s]+>")
# Any ticket token, whatever the configured prefix ("SUP-12", "[ACME-7]"): over-inclusive on
# purpose (a shared key costs a wait, a missed one a second ticket).
_TOKEN = re.compile(r"(?<![\w-])([A-Za-z][A-Za-z0-9]{0,15}-\d{1,9})(?![\w-])")
_PARSER = BytesHeaderParser(policy=compat32)
HEADERS_MAX = 262144  # bytes read for the keys; a header block is smaller
# The blank line that ends the header block, whatever the line ends: the parser reads no
# further, but would still be fed (and split into lines) every byte after it.
_HEADER_END = re.compile(rb"\n\r?\n|\r\r")


def _hashed(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # fits SQLite's and PostgreSQL's bigint


def keys(raw: bytes) -> list[int]:
    """The conversation keys of one stored message (none when its headers cannot be read:
    then it waits for nobody and nobody waits for it, and the pipeline decides). Never
    raises: the message is being stored, and storing must not fail on what it says."""
    try:
        return _keys(raw)
    except Exception:  # hostile bytes the parsers trip on: no keys, the full parse decides
        return []


def _keys(raw: bytes) -> list[int]:
    block = raw[:HEADERS_MAX]
    end = _HEADER_END.search(block)
    headers = _PARSER.parsebytes(block[: end.end()] if end else block)

    def values(name: str) -> list[str]:
        return [clean(str(v)) for v in headers.get_all(name) or []]

    found: list[tuple[str, str]] = []
    for name in ("message-id", "in-reply-to"):
        for value in values(name)[:1]:
            found += [("id", i) for i in _MSGID.findall(value)[:1]]
    references = _MSGID.findall(" ".join(values("references")))
    # The thread's first and latest Message-IDs are the ones a reply must share.
    found += [("id", i) for i in references[:4] + references[-8:]]
    for value in values("from")[:1]:
        found += [("from", a.lower()) for a in addresses_in(value)[:1]]
    for value in values("subject")[:1]:  # (a token may be in an encoded word)
        found += [("token", t.upper()) for t in _TOKEN.findall(header_text(value))[:4]]
    hashed = dict.fromkeys(_hashed(kind, value) for kind, value in found)
    return list(hashed)[:MAX_KEYS]
