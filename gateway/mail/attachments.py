"""The files in a mail an SE asks us to relay: what they are, under which names, within which
size.

A file name comes from the internet (or from an SE's client, which took it from anywhere): it is
only ever a name. Directories, drive letters, control characters and leading dots go; an empty
or absurd name becomes ``attachment-N``. Inline images keep their ``Content-ID`` so the HTML we
send can show them where the SE put them. A mail attached whole (``message/rfc822``) is never
relayed: in an SE's reply it is most often our own copy of the customer's mail.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

NAME_MAX = 120
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]")
_CID = re.compile(r"^<?([^<>\s]{1,200})>?$")


@dataclass(frozen=True)
class Attachment:
    filename: str  # safe: a name, never a path
    content_type: str  # maintype/subtype
    data: bytes
    content_id: str = ""  # without angle brackets; set for an inline image

    @property
    def inline(self) -> bool:
        return bool(self.content_id)


def safe_name(name: str, n: int = 1) -> str:
    """``name`` as a plain file name: the last component of any path, no control characters
    or characters file systems refuse, no leading dots, at most ``NAME_MAX`` characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]  # "../../etc/passwd" and "C:\x\y.exe" are names only
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot else ""
        name = (stem if dot else name)[: NAME_MAX - len(ext) - 1].rstrip() + (
            f".{ext}" if ext else ""
        )
    return name or f"attachment-{n}"


def extract(raw: bytes) -> list[Attachment]:
    """The files and inline images of a mail, in order (its text and HTML body are not)."""
    try:
        msg = message_from_bytes(raw, policy=policy.default)
    except Exception:  # a mail we cannot take apart relays no file
        return []
    if not isinstance(msg, EmailMessage):
        return []
    found: list[Attachment] = []
    for part in _leaves(msg):
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        cid = _content_id(part.get("content-id", ""))
        is_image = part.get_content_maintype() == "image"
        if disposition != "attachment" and not filename and not (is_image and cid):
            continue  # the body's text or HTML
        with contextlib.suppress(Exception):
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                continue
            found.append(
                Attachment(
                    safe_name(str(filename or ""), len(found) + 1),
                    part.get_content_type(),
                    data,
                    cid if is_image and disposition != "attachment" else "",
                )
            )
    return found


def _leaves(part: EmailMessage) -> Iterator[EmailMessage]:
    """The parts that hold content, outside any attached mail (``message/*`` is not opened)."""
    if part.get_content_maintype() == "message":
        return
    if part.is_multipart():
        for sub in part.iter_parts():
            if isinstance(sub, EmailMessage):
                yield from _leaves(sub)
        return
    yield part


def _content_id(value: object) -> str:
    m = _CID.match(str(value).strip())
    return m.group(1) if m else ""


def within(files: list[Attachment], limit: int) -> tuple[list[Attachment], list[Attachment]]:
    """(the files that fit in ``limit`` bytes together, in order; those that do not)."""
    kept, over, total = [], [], 0
    for f in files:
        if total + len(f.data) <= limit:
            kept.append(f)
            total += len(f.data)
        else:
            over.append(f)
    return kept, over


def size_words(n: int) -> str:
    """A size as a person writes it: 812 bytes, 14 KB, 3.2 MB."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n // 1024} KB"
    return f"{n / (1024 * 1024):.1f} MB"
