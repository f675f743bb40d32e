"""The whole story of a ticket in a few screens, for the SE who takes it over (``#assign``) or
inherits another ticket's mail (``#merge``): every mail so far, newest first, each with its date,
who wrote it and what it said (quotes and signatures removed), beside the open dates and the
people on the customer's side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.core.models import Action, MailKind, Outbound, Ticket
from gateway.mail import points
from gateway.mail.inbound import ParseError, parse
from gateway.mail.mime import Envelope, staff_subject
from gateway.mail.templating import Template
from gateway.pipeline.acting import relay_for
from gateway.pipeline.work import Services
from gateway.promise.words import kind_words
from gateway.store import Db, commitments, participants, story, tickets
from gateway.store.story import STORY_KINDS, StoryMail

MAILS = 20  # the newest mails of the story in a digest (it says how many there are in all)
TEXT_MAX = 700  # characters of each mail in the digest

# How the story names what came in and what we sent (one word for each kind it tells).
IN_WORDS: dict[Action, str] = {
    Action.ACKNOWLEDGE: "wrote (the first mail)",
    Action.FOLLOW_UP: "wrote",
    Action.ENGINEER_REPLY: "answered the customer directly",
    Action.ATTACH: "recorded on the ticket",
}
OUT_WORDS: dict[MailKind, str] = {
    MailKind.ACK: "our acknowledgement",
    MailKind.REPLY: "the answer",
    MailKind.ETA: "a date for the customer",
    MailKind.REVISED_ETA: "a revised date",
    MailKind.STATUS_UPDATE: "a status update",
    MailKind.NOTE: "an internal note",
}


@dataclass(frozen=True)
class Entry:
    when: str
    who: str
    what: str
    text: str


def digest(mails: list[StoryMail], when: Callable[[datetime], str]) -> list[Entry]:
    """One entry per mail, in the order given (the store gives newest first)."""
    return [_entry(m, when) for m in mails]


def _entry(mail: StoryMail, when: Callable[[datetime], str]) -> Entry:
    try:
        msg = parse(mail.raw)
    except ParseError:
        return Entry(when(mail.at), "(unreadable mail)", mail.kind, "")
    who = f"{msg.from_name} <{msg.from_address}>" if msg.from_name else msg.from_address
    if mail.direction == "in":
        what = IN_WORDS[Action(mail.kind)]  # the story holds only the kinds it names
        text = points.new_text(msg.text, msg.html)
    else:
        what = OUT_WORDS[MailKind(mail.kind)]
        who = msg.from_name or who  # "Sam Engineer (Example Support)"
        text = msg.text.strip()
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 1].rstrip() + "\u2026"
    return Entry(when(mail.at), who, what, text)


def open_dates(s: Services, db: Db, t: Ticket) -> list[dict[str, str]]:
    """The ticket's standing dates, as the customer was told them."""
    return [
        {"kind_words": kind_words(c.kind), "point": c.point, "words": s.when(c.due_at, t)}
        for c in commitments.open_for(db, t.id)
    ]


def handed_over(
    s: Services,
    db: Db,
    t: Ticket,
    *,
    by: str,
    cover_reason: str,
    sending: list[Outbound],
    now: datetime,
) -> Outbound:
    """The mail to ``t``'s new SE (``t`` as stored after the change of owner): who handed it
    over and why, the story so far (newest first, the mail ``sending`` with it included), the
    open dates and the customer's people."""
    pending = [
        StoryMail("out", now, o.kind, o.raw) for o in reversed(sending) if o.kind in STORY_KINDS
    ]
    family = story.family(db, t.id)
    mails = (pending + story.of(db, family, MAILS))[:MAILS]
    return s.composer.build(
        MailKind.SE_COPY,
        Template.ASSIGNED,
        t,
        Envelope(to=(t.se,), cc=(t.sc,) if t.sc else (), reply_to=relay_for(s, t)),
        {
            "by": by,
            "cover_reason": cover_reason,
            "customer_name": t.customer_name,
            "ticket_question": tickets.history(db, t.id)["question"],
            "story": digest(mails, lambda at: s.when(at, t)),
            "story_total": len(pending) + story.count(db, family),
            "open_dates": open_dates(s, db, t),
            "participants": participants.of(db, t.id),
        },
        subject=staff_subject(t, "Assigned to you"),
    )
