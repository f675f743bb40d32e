"""The pipeline's thread step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from datetime import timedelta

from gateway.core.models import InboundMessage, MailClass, Ticket, TicketState
from gateway.mail import senderauth, subjects
from gateway.pipeline.work import Mention, Services, Work
from gateway.store import Db, participants, tickets


def step_thread(s: Services, w: Work, db: Db) -> None:
    msg = w.message
    w.ticket = tickets.by_message_ids(db, msg.thread_ids)
    how = "In-Reply-To/References"
    if w.ticket is None:
        w.ticket, how, named = _by_token(s, db, msg)
    if w.ticket is not None and w.ticket.merged_into is not None:
        merged = w.ticket.key
        w.ticket = tickets.current(db, w.ticket)
        how += f", and {merged} was merged into {w.ticket.key}"
    if w.ticket is not None:  # as it is once nobody else is at it (the scheduler, a gateway)
        w.ticket = tickets.lock(db, w.ticket.id) or w.ticket
    if w.ticket is None and named:
        w.mention = Mention(
            named,
            (
                "its subject names it without brackets, and the writer is not one of its people,"
                " so opened as a new ticket. Check whether it belongs there."
            ),
        )
        w.decide("thread", "new", how)
    elif w.ticket is None:
        w.decide("thread", "new", "no known Message-ID or ticket token")
    elif w.mail_class is MailClass.HUMAN and not _one_of_its_people(
        s, db, w.ticket, msg.from_address
    ):
        # A ticket belongs to its people: a stranger naming its token or thread (a hijack, or
        # a colleague we do not know yet) gets a ticket of their own that mentions it.
        w.mention = Mention(
            w.ticket.key,
            (
                "written in its thread or with its token by someone who is not one of its people,"
                " so opened as a new ticket. Check whether it belongs there."
            ),
        )
        w.decide(
            "thread",
            "new",
            f"names {w.ticket.key} ({how}) but {msg.from_address} is not one of its people",
        )
        w.ticket = None
    elif w.mail_class is MailClass.HUMAN and (why := _unproven_customer(s, msg)):
        # With trust configured, a customer-side From our border found unauthenticated may be
        # forged: it joins nobody's ticket (nor adds anyone to it); it is a ticket of its own.
        w.mention = Mention(
            w.ticket.key,
            (
                f"written in its thread, but the From is not authenticated ({why}): it may be"
                " forged, so opened as a new ticket. Check with the customer before acting on it."
            ),
        )
        w.decide("thread", "new", f"names {w.ticket.key} ({how}) but {why}")
        w.ticket = None
    elif (
        w.ticket.resolved_at is not None
        and w.ticket.state is TicketState.RESOLVED
        and (w.now - w.ticket.resolved_at > timedelta(days=s.config.sla.reopen_days))
    ):
        resolved = s.calendar.local_date(w.ticket.resolved_at).isoformat()
        w.mention = Mention(
            w.ticket.key,
            (
                f"the customer wrote in its thread; it was resolved on {resolved}, more than"
                f" {s.config.sla.reopen_days:g} days ago, so this is a new ticket that links it."
            ),
        )
        w.decide("thread", "new", f"{w.ticket.key} was resolved on {resolved}: a new ticket")
        w.ticket = None
    else:
        w.decide("thread", w.ticket.key, f"matched by {how}")


def _by_token(s: Services, db: Db, msg: InboundMessage) -> tuple[Ticket | None, str, str]:
    """The ticket a subject token names: a bracketed token, or one written bare or in
    parentheses by one of that ticket's participants (a bare "SUP-12" from anyone else may be a
    reference, not a reply: it opens a ticket of its own that mentions SUP-12)."""
    for token in subjects.tokens(msg.subject, s.config.support.ticket_prefix):
        ticket = tickets.by_key(db, token.key)
        if ticket is None:
            continue
        if token.bracketed:
            return ticket, "subject token", ""
        if participants.includes(db, ticket.id, msg.from_address):
            return ticket, "subject token written without brackets, by a participant", ""
        return None, f"{token.key} written without brackets by someone not on it", token.key
    return None, "", ""


def _unproven_customer(s: Services, msg: InboundMessage) -> str:
    return senderauth.customer_doubt(
        s.config.relay, msg, staff=s.directory.is_staff(msg.from_address)
    )


def _one_of_its_people(s: Services, db: Db, ticket: Ticket, sender: str) -> bool:
    """A participant (the requester, someone their mails copied), someone on the ticket's
    account's domains or addresses, or our staff."""
    if s.directory.is_staff(sender) or participants.includes(db, ticket.id, sender):
        return True
    account, _ = s.directory.account_for(sender)
    return bool(ticket.account) and account is not None and account.name == ticket.account
