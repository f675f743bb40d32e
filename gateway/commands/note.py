"""``#note <text>``: an internal note to the SE and SC, never to the customer."""

from __future__ import annotations

from gateway.commands.base import Acting, Command
from gateway.core.models import MailKind
from gateway.mail.mime import Envelope
from gateway.mail.templating import Template


def run(a: Acting, text: str) -> None:
    t, name = a.ticket, a.s.directory.name_of(a.sender)
    a.mails.append(
        a.s.composer.build(
            MailKind.NOTE,
            Template.NOTE,
            t,
            Envelope(to=tuple(dict.fromkeys([t.se, *((t.sc,) if t.sc else ())]))),
            {"author": name, "note": text},
            subject=f"[{t.key}] Internal note from {name}",
        )
    )
    a.done.append("note recorded and sent to the SE and SC (not the customer)")


COMMAND = Command("note", "#note <text>", run, needs_arg=True, sc_may=True)
