"""How a mail to a person begins: "Dear Richard," when their display name gives a first name we
can trust, "Hello," otherwise.

Display names come from the internet and from address books: "Payne, Richard", "Richard Payne",
"ACME Support Team", "r.payne", "J. Smith", "noreply". nameparser splits the name the way a
person reads it (surname-first with a comma, titles, suffixes); we use its first name only when
it looks like one: letters (with an inner hyphen or apostrophe), capitalised, more than an
initial, and not a word that names a role or a mailbox rather than a person.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^[^\W\d_]+(?:['\u2019-][^\W\d_]+)*$")
# A first "name" that is a mailbox's purpose, not a person's name.
_ROLES = frozenset(
    {
        "accounts", "admin", "administrator", "billing", "contact", "dev", "devops", "finance",
        "hello", "help", "helpdesk", "hr", "info", "it", "mail", "noreply", "no-reply",
        "office", "operations", "ops", "postmaster", "sales", "security", "service", "support",
        "sysadmin", "system", "team", "tech", "test", "user", "webmaster",
    }
)  # fmt: skip
# Words that make a whole display name an organisation's ("ACME Support Team").
_ORGANISATION = frozenset(
    {"team", "support", "service", "services", "helpdesk", "department", "desk", "group", "inc",
     "ltd", "gmbh", "llc", "noreply", "no-reply", "notifications", "alerts"}
)  # fmt: skip


def first_name(display_name: str) -> str:
    """The first name to greet, or '' when the display name gives none we can trust."""
    name = " ".join(display_name.split())
    if not name or "@" in name or any(c.isdigit() for c in name) or len(name) > 80:
        return ""
    words = {w.lower().strip(".,") for w in re.split(r"[\s,]+", name)}
    if words & _ORGANISATION:
        return ""
    from nameparser import HumanName  # its vocabularies load on the first name read

    first = HumanName(name).first
    if first.lower() in _ROLES:
        return ""
    if len(first) < 2 or not _NAME.match(first) or not first[0].isupper():
        return ""
    if first.isupper() and len(first) > 1:  # "ACME", "JANE": a shout or an organisation
        return ""
    return first


def greeting(display_name: str) -> str:
    """``Dear Richard,`` or ``Hello,``."""
    first = first_name(display_name)
    return f"Dear {first}," if first else "Hello,"
