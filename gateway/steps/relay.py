"""An SE's (or SC's) mail to a ticket's relay address: proven, checked, then acted on.

Only mail to the relay address with the ticket's token, from configured staff, authenticated when
trust is configured, is acted on; anything else is recorded and reported, never answered (the
From may be forged). Invalid commands do nothing but tell the sender why. See gateway/engineer.py
for what each command does.
"""

from __future__ import annotations

import hmac

from gateway.engineer import (
    act,
    merge_problem,
    security_alert,
    send,
    sender_verdict,
    to_actor,
)
from gateway.models import Action, MailKind, Ticket
from gateway.parse import addresses_in
from gateway.relay import WhenError, find_relay, parse_reply, parse_when
from gateway.store import Db, tickets
from gateway.templating import Template
from gateway.work import Done, Services, Work


async def step_relay(s: Services, w: Work, db: Db) -> None:
    msg = w.message
    found = find_relay((*msg.to, *msg.cc, *msg.delivered_to), s.config.support.address)
    if found is None:
        return
    key, token = found
    ticket = await tickets.by_key(db, key)
    sender = msg.from_address
    problem = ""
    if ticket is None or not hmac.compare_digest(ticket.token, token):
        problem = f"wrong or unknown relay token for {key}"
    elif not s.directory.is_staff(sender):
        problem = f"{sender} is not a configured SE or SC"
    elif (verdict := sender_verdict(s, msg, w)) is not None and not verdict.authenticated:
        problem = f"{sender} is not authenticated: {verdict.reason}"
    if problem or ticket is None:
        raise await _refuse(s, w, db, ticket, problem)
    w.ticket = ticket
    reply = parse_reply(msg.text or msg.html)
    is_se = s.directory.is_se(sender)
    errors = list(reply.errors)
    if not is_se:
        errors += [f"{c.line}: only an SE can do that" for c in reply.commands if c.name != "note"]
        if reply.text:
            errors.append("only an SE can answer the customer; an SC can add a #note")
    when = None
    for c in reply.commands:
        if c.name == "eta":
            try:
                when = parse_when(c.arg, w.now, s.calendar)
            except WhenError as exc:
                errors.append(f"{c.line}: {exc}")
        if c.name == "assign":
            person = s.directory.find_person(c.arg)
            if person is None or not s.directory.is_se(person.address):
                errors.append(f"{c.line}: {c.arg} is not a configured SE")
        if c.name == "cc":
            written = addresses_in(c.arg.split()[-1])
            if len(written) != 1:
                errors.append(f"{c.line}: {c.arg.split()[-1]} is not an address")
            elif s.ours.owns(written[0]) or s.directory.is_staff(written[0]):
                errors.append(f"{c.line}: {written[0]} is one of us, not the customer's side")
        if c.name == "merge":
            problem = await merge_problem(db, ticket, c.arg)
            if problem:
                errors.append(f"{c.line}: {problem}")
    if ticket.merged_into is not None:
        survivor = await tickets.current(db, ticket)
        errors = [f"{ticket.key} was merged into {survivor.key}: reply on {survivor.key}'s copy"]
    if errors:
        await send(
            s,
            w,
            db,
            ticket,
            [to_actor(s, ticket, sender, MailKind.SE_ERROR, Template.SE_ERROR, {"errors": errors})],
        )
        raise Done(Action.RELAY, f"{ticket.key}: refused {len(errors)} invalid command(s)")
    await act(s, w, db, ticket, reply, when)


async def _refuse(s: Services, w: Work, db: Db, ticket: Ticket | None, problem: str) -> Done:
    """Record and report; never answer the sender (the From may be forged)."""
    # An unknown ticket key cannot be threaded anywhere: it is recorded (and logged) only.
    if ticket is not None:
        await security_alert(s, w, db, ticket, problem, "Refused a mail to the relay address")
    w.decide("relay", "refused", problem)
    return Done(Action.REFUSED, f"relay refused: {problem}")
