"""A customer's mail forwarded to support by one of our own people (an SC passing it on, as the
team's policy asks, or an SE): the ticket is the customer's, not the forwarder's.

The original sender, subject, text and recipients come from the forwarded headers (see
:mod:`gateway.mail.forwards`); the ticket is routed by the customer's account, the customer is
acknowledged (the SC in CC), and every date counts from when the forward reached us. A forward
whose customer cannot be told from it goes back to the forwarder with a short question: nothing
is sent to a guess. Forwards from addresses that only claim to be staff are refused when sender
authentication is configured, as staff mail is.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.core.models import Action, InboundMessage, MailClass, MailKind
from gateway.mail import forwards, points
from gateway.mail.mime import Envelope
from gateway.mail.subjects import strip_prefixes
from gateway.mail.templating import Template
from gateway.pipeline.acting import sender_verdict
from gateway.pipeline.work import Done, Forward, Services, Work
from gateway.store import Db, outbox, participants, tickets


def step_forward(s: Services, w: Work, db: Db) -> None:
    msg = w.message
    sender = msg.from_address
    if (
        w.ticket is not None
        or w.mail_class is not MailClass.HUMAN
        or not s.directory.is_staff(sender)
    ):
        return
    found = forwards.find(msg)
    if found is None:
        return  # staff writing to support in their own name: their own ticket, as before
    verdict = sender_verdict(s, msg, w)
    if verdict is not None and not verdict.authenticated:
        w.decide("forward", "refused", f"{sender} is not authenticated: {verdict.reason}")
        raise Done(Action.REFUSED, f"a forward claiming to be from {sender}, not authenticated")
    by = s.directory.name_of(sender)
    if found.message_id and (known := tickets.by_message_ids(db, (found.message_id,))):
        tickets.add_message_id(db, msg.message_id, known.id, "in")
        raise Done(Action.ATTACH, f"{by} forwarded mail already on {known.key}")
    why = _unusable(s, found)
    if why:
        _ask_forwarder(s, w, db, found, why)
        raise Done(Action.ASK_FORWARDER, f"forward from {sender}: {why}; {by} was asked")
    w.forward = Forward(
        by=by,
        by_address=sender,
        how=found.how,
        written_at=found.date,
        note=points.new_text(found.note)[:500],
        message_id=msg.message_id,
    )
    w.msg = _as_the_customers(msg, found)
    w.decide(
        "forward",
        found.address,
        f"{by} forwarded a mail from {found.address} ({found.how}): the ticket is theirs",
    )
    # The original may answer a ticket of ours (the customer wrote to the SC in its thread).
    known = tickets.by_message_ids(db, found.references) if found.references else None
    if known is not None and participants.includes(db, known.id, found.address):
        w.ticket = known
        w.decide("thread", known.key, "the forwarded mail is in its thread, from one of its people")


def _unusable(s: Services, found: forwards.Forwarded) -> str:
    """Why the forwarded mail names no customer we may write to ('' when it does)."""
    if not found.address:
        return "its From line names no address"
    if s.ours.owns(found.address) or s.directory.is_staff(found.address):
        return f"it is from {found.address}, one of our own addresses"
    return ""


def _as_the_customers(msg: InboundMessage, found: forwards.Forwarded) -> InboundMessage:
    """The message as the customer wrote it, for every step after this one. Its Message-ID is
    the original's when the forward carried it; else the forward's own (the customer's client
    will not know it, which threads nothing wrong)."""
    return replace(
        msg,
        message_id=found.message_id or msg.message_id,
        subject=found.subject or strip_prefixes(msg.subject),
        from_address=found.address,
        from_name=found.name,
        to=found.to,
        cc=found.cc,
        in_reply_to="",
        references=found.references,
        date=found.date,
        text=found.text,
        html="",
        delivered_to=(),
        attached=(),
    )


def _ask_forwarder(s: Services, w: Work, db: Db, found: forwards.Forwarded, why: str) -> None:
    msg = w.message
    note = s.composer.build(
        MailKind.FORWARD_QUERY,
        Template.FORWARD_QUERY,
        None,
        Envelope(to=(msg.from_address,)),
        {
            "forwarder": s.directory.name_of(msg.from_address),
            "subject": msg.subject,
            "found_name": found.name,
            "why": why,
        },
        subject=f"Which customer? {msg.subject}",
        answers=msg.message_id,
    )
    outbox.enqueue(db, note, None, w.now)
    w.outgoing.append(note)
