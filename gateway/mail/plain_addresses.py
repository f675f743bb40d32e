"""The address headers nearly every mail client writes, read without the standard library's
full parser, with the same result.

``Jane Doe <jane@acme.example>``, ``"Doe, Jane" <jane@acme.example>`` and
``jane@acme.example``, alone or in a comma-separated list: plain ASCII words, a dot-atom local
part, a domain of letters, digits and hyphens. Reading one of these with
:class:`email.headerregistry.HeaderRegistry` builds a token tree of the whole header (about
0.1 ms a header, three headers a mail). Anything else (comments, groups, quoted local parts,
escapes, encoded words, a domain literal, non-ASCII, a stray character) answers ``None``, and
the caller uses that parser: this module only ever shortens the way to the answer the
standard library gives. ``tests/test_plain_addresses.py`` compares the two on real headers and
on drawn ones made of every character that matters to the grammar.

No ``?`` is accepted anywhere, so no RFC 2047 encoded word (which the standard library decodes,
even where the RFC does not allow one, as in a quoted name or a local part) can take this path.
"""

from __future__ import annotations

import re
from email.headerregistry import Address

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=^_`{|}~-]"  # RFC 5322 atext without "?"
_WORDS = rf"{_ATEXT}+(?: {_ATEXT}+)*"  # a display name of atoms, one space apart
# A quoted display name: printable ASCII but the quote, the backslash and "?" (the standard
# library decodes an encoded word even inside quotes).
_QUOTED = r'"[ !#->@-\[\]-~]*"'
_LOCAL = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"  # a dot-atom
_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_MAILBOX = re.compile(
    rf"[ \t]*(?:"
    rf"(?:(?P<name>{_WORDS}|{_QUOTED})[ \t]*)?<(?P<local>{_LOCAL})@(?P<domain>{_DOMAIN})>"
    rf"|(?P<bare_local>{_LOCAL})@(?P<bare_domain>{_DOMAIN})"
    rf")[ \t]*"
)


def plain_mailboxes(value: str) -> tuple[Address, ...] | None:
    """The mailboxes of a plain address header (see above), or None: then ask the standard
    library's parser."""
    found = []
    at = 0
    while True:
        m = _MAILBOX.match(value, at)
        if m is None:
            return None
        if m["local"] is not None:
            name = m["name"] or ""
            if name.startswith('"'):
                name = name[1:-1]
            found.append(Address(name, m["local"], m["domain"]))
        else:
            found.append(Address("", m["bare_local"], m["bare_domain"]))
        at = m.end()
        if at == len(value):
            return tuple(found)
        if value[at] != ",":
            return None
        at += 1
