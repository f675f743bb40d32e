"""What happens to one inbound message, in order.

``PIPELINE`` below is the whole story; each step does one thing and either lets the message go on
or ends its journey with :class:`Done` (an action and a reason, both recorded). The processor runs
every step for one message inside one database transaction, so either all of a message's effects
(ticket, commitments, outbox rows, decisions) are stored, or none are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

from gateway import attachments, ledger, points, rules, selfhelp, subjects
from gateway.automated import step_automated
from gateway.compose import Envelope, customer_envelope, staff_subject
from gateway.engineer import relay_for, security_alert, sender_verdict, step_relay
from gateway.models import Action, InboundMessage, MailKind, Route, Ticket, TicketState
from gateway.parse import ParseError, parse
from gateway.routing import Load, RouteRequest
from gateway.rules import spam_verdict
from gateway.sla import initial_promises
from gateway.steps.forward import step_forward
from gateway.store import Db, commitments, inbox, participants, tickets
from gateway.templating import Template
from gateway.work import Done, Services, Work

__all__ = ["PIPELINE", "Done", "Services", "Work", "run_pipeline"]


Step = Callable[[Services, Work, Db], Awaitable[None]]


async def step_parse(s: Services, w: Work, db: Db) -> None:
    limit = s.config.safety.max_message_bytes
    if len(w.row.raw) > limit:
        w.mail_class = "malformed"
        raise ParseError(f"message is {len(w.row.raw)} bytes, over the {limit}-byte limit")
    try:
        w.msg = parse(w.row.raw)
    except ParseError:
        raise
    except Exception as exc:  # parsing depends on the bytes alone: a failure is the mail's fault
        raise ParseError(f"unreadable message: {type(exc).__name__}: {exc}") from exc
    w.decide("parse", "ok", f"{w.msg.message_id} from {w.msg.from_address or '(none)'}")


async def step_classify(s: Services, w: Work, db: Db) -> None:
    """Decide the class only; the automated step acts on it once the thread is known."""
    skip = frozenset({spam_verdict.NAME}) if w.row.spam_released else frozenset()
    w.mail_class, results = rules.classify(w.message, s.ours, skip)
    for r in results:
        w.decide(f"rule:{r.rule}", r.verdict, r.reason)


async def step_dedupe(s: Services, w: Work, db: Db) -> None:
    if await inbox.already_processed(db, w.message.message_id, w.row.id):
        raise Done(Action.DUPLICATE, f"{w.message.message_id} was already processed")


async def step_thread(s: Services, w: Work, db: Db) -> None:
    msg = w.message
    w.ticket = await tickets.by_message_ids(db, msg.thread_ids)
    how = "In-Reply-To/References"
    if w.ticket is None:
        w.ticket, how, named = await _by_token(s, db, msg)
    if w.ticket is not None and w.ticket.merged_into is not None:
        merged = w.ticket.key
        w.ticket = await tickets.current(db, w.ticket)
        how += f", and {merged} was merged into {w.ticket.key}"
    if w.ticket is None and named:
        w.mentions = named
        w.mentions_why = (
            "its subject names it without brackets, and the writer is not one of its people,"
            " so opened as a new ticket. Check whether it belongs there."
        )
        w.decide("thread", "new", how)
    elif w.ticket is None:
        w.decide("thread", "new", "no known Message-ID or ticket token")
    elif w.mail_class == "human" and not await _one_of_its_people(
        s, db, w.ticket, msg.from_address
    ):
        # A ticket belongs to its people: a stranger naming its token or thread (a hijack, or
        # a colleague we do not know yet) gets a ticket of their own that mentions it.
        w.mentions = w.ticket.key
        w.mentions_why = (
            "written in its thread or with its token by someone who is not one of its people,"
            " so opened as a new ticket. Check whether it belongs there."
        )
        w.decide(
            "thread",
            "new",
            f"names {w.ticket.key} ({how}) but {msg.from_address} is not one of its people",
        )
        w.ticket = None
    elif (
        w.ticket.resolved_at is not None
        and w.ticket.state is TicketState.RESOLVED
        and (w.now - w.ticket.resolved_at > timedelta(days=s.config.sla.reopen_days))
    ):
        resolved = s.calendar.local_date(w.ticket.resolved_at).isoformat()
        w.mentions = w.ticket.key
        w.mentions_why = (
            f"the customer wrote in its thread; it was resolved on {resolved}, more than"
            f" {s.config.sla.reopen_days:g} days ago, so this is a new ticket that links it."
        )
        w.decide("thread", "new", f"{w.ticket.key} was resolved on {resolved}: a new ticket")
        w.ticket = None
    else:
        w.decide("thread", w.ticket.key, f"matched by {how}")


async def _by_token(s: Services, db: Db, msg: InboundMessage) -> tuple[Ticket | None, str, str]:
    """The ticket a subject token names: a bracketed token, or one written bare or in
    parentheses by one of that ticket's participants (a bare "SUP-12" from anyone else may be a
    reference, not a reply: it opens a ticket of its own that mentions SUP-12)."""
    for token in subjects.tokens(msg.subject, s.config.support.ticket_prefix):
        ticket = await tickets.by_key(db, token.key)
        if ticket is None:
            continue
        if token.bracketed:
            return ticket, "subject token", ""
        if await participants.includes(db, ticket.id, msg.from_address):
            return ticket, "subject token written without brackets, by a participant", ""
        return None, f"{token.key} written without brackets by someone not on it", token.key
    return None, "", ""


async def _one_of_its_people(s: Services, db: Db, ticket: Ticket, sender: str) -> bool:
    """A participant (the requester, someone their mails copied), someone on the ticket's
    account's domains or addresses, or our staff."""
    if s.directory.is_staff(sender) or await participants.includes(db, ticket.id, sender):
        return True
    account, _ = s.directory.account_for(sender)
    return bool(ticket.account) and account is not None and account.name == ticket.account


async def step_staff(s: Services, w: Work, db: Db) -> None:
    """Our own engineer writing in a ticket's thread, to the customer: that is the response we
    promised. It counts only when it went to the customer and, with trusted servers configured,
    its From is authenticated; otherwise it is recorded as unverified, meets nothing, and the
    escalation contact is told (a forged "engineer" must not silence our dates). An SC writing in
    the thread is recorded, but is not the engineer's answer."""
    msg = w.message
    sender = msg.from_address
    if w.ticket is None or not s.directory.is_staff(sender):
        return
    await tickets.add_message_id(db, msg.message_id, w.ticket.id, "in")
    if not s.directory.is_se(sender):
        raise Done(Action.ATTACH, f"{s.directory.name_of(sender)} (SC) wrote on {w.ticket.key}")
    verdict = sender_verdict(s, msg, w)
    recipients = {a.lower() for a in (*msg.to, *msg.cc)}
    problem = ""
    if verdict is not None and not verdict.authenticated:
        problem = f"not authenticated: {verdict.reason}"
    elif w.ticket.customer_address.lower() not in recipients:
        problem = f"not sent to the customer ({w.ticket.customer_address})"
    if problem:
        what = f"Unverified mail from {s.directory.name_of(sender)} met no date"
        await security_alert(s, w, db, w.ticket, problem, what)
        raise Done(
            Action.ATTACH,
            f"unverified mail from {sender} on {w.ticket.key}: {problem}; no date met",
        )
    met = await ledger.responded(db, w.ticket, w.now)
    raise Done(
        Action.ENGINEER_REPLY,
        f"{s.directory.name_of(sender)} replied on {w.ticket.key}; {met} commitment(s) met",
    )


async def step_route(s: Services, w: Work, db: Db) -> None:
    if w.ticket is not None:
        t = w.ticket
        w.route = Route(t.account, t.se, t.sc, f"follow-up sticks to {t.se}", t.product)
    else:
        msg, cal = w.message, s.calendar
        req = RouteRequest(
            sender=msg.from_address,
            recipients=(*msg.to, *msg.cc, *msg.delivered_to),
            subject=msg.subject,
            text=msg.text or msg.html,
            today=cal.local_date(w.now),
            in_hours=cal.is_open(w.row.received_at),
        )
        if not s.directory.preferred(req)[2]:  # only the load rule is left: count open tickets
            stored = await tickets.loads(db)
            req = replace(req, loads={se: Load(n, last) for se, (n, last) in stored.items()})
        w.route = s.directory.route(req)
    w.decide("route", w.route.se, w.route.reason)


async def step_ticket(s: Services, w: Work, db: Db) -> None:
    assert w.route is not None
    if w.ticket is not None:
        msg = w.message
        if w.ticket.state is TicketState.RESOLVED:
            if points.is_courtesy(msg.text, msg.html):
                w.decide("ticket", w.ticket.key, "a courtesy on a resolved ticket: not reopened")
            else:
                await tickets.reopen(db, w.ticket.id)
                w.reopened = True
                w.decide("ticket", w.ticket.key, "reopened: the customer wrote again")
        if w.ticket.state is TicketState.WAITING:
            moved = await ledger.resume(
                db, w.ticket, w.now, s.calendar, lambda t: s.when(t, w.the_ticket)
            )
            w.decide(
                "ticket", w.ticket.key, f"customer replied: clocks resume, {moved} date(s) moved"
            )
        w.ticket = await tickets.customer_follow_up(db, w.ticket, w.message)
        await _keep_forward_id(w, db)
        return
    sup = s.config.support
    w.ticket = await tickets.create(
        db, w.message, w.route, w.row.received_at, w.now, sup.ticket_prefix, sup.first_ticket_number
    )
    w.new_ticket = True
    await _keep_forward_id(w, db)
    w.decide("ticket", w.ticket.key, "opened")


async def _keep_forward_id(w: Work, db: Db) -> None:
    """A forward's own Message-ID threads too (the forwarder may reply to it)."""
    if w.forward is not None:
        await tickets.add_message_id(db, w.forward.message_id, w.the_ticket.id, "in")


async def step_participants(s: Services, w: Work, db: Db) -> None:
    """The writer and the customer-side people their mail copied join the ticket's people: never
    our own or staff addresses, never another account's people; at most the configured cap."""
    t, msg = w.the_ticket, w.message
    msg_people = _mailboxes_of(msg)
    account = t.account
    wanted = []
    for name, address in msg_people:
        if s.ours.owns(address) or s.directory.is_staff(address):
            continue
        other, _ = s.directory.account_for(address)
        if other is not None and other.name != account:
            continue  # another customer: never copied on this ticket's mail
        wanted.append((name, address))
    added = await participants.add(
        db, t.id, wanted, w.now, "mail", s.config.safety.max_participants
    )
    if added:
        w.decide("participants", f"+{len(added)}", ", ".join(added))


def _mailboxes_of(msg: InboundMessage) -> list[tuple[str, str]]:
    """(name, address) of the writer, then everyone in To and CC."""
    return [(msg.from_name, msg.from_address), *(("", a) for a in (*msg.to, *msg.cc))]


async def step_plan(s: Services, w: Work, db: Db) -> None:
    t = w.the_ticket
    msg = w.message
    w.points = points.extract(msg.text, msg.html, s.config.sla.max_points)
    if not (w.new_ticket or w.reopened):
        await _plan_follow_up(s, w, db)
        return
    w.promises = initial_promises(s.policy, w.row.received_at, w.now)
    for p in w.promises:
        revision_of = None
        if p.missed is not None:
            revision_of = await commitments.make(
                db, t.id, p.kind, p.missed, s.when(p.missed, t), w.now
            )
            await commitments.mark_missed(db, revision_of, w.now)
        await commitments.make(db, t.id, p.kind, p.due, s.when(p.due, t), w.now, revision_of)
        if p.kind == "actionable":  # each of the customer's points is answered by then
            for point in w.points:
                await commitments.make(
                    db, t.id, "point", p.due, s.when(p.due, t), w.now, point=point
                )
        due = p.due.astimezone(s.calendar.tz).isoformat()
        w.decide(f"plan:{p.kind}", due, "revised at intake" if p.missed else "policy")


async def _plan_follow_up(s: Services, w: Work, db: Db) -> None:
    """A follow-up: the ticket's dates stand; each point not asked before gets its own date
    (when the reply to a new mail would be due), and the customer an acknowledgement of them."""
    t = w.the_ticket
    known = {points.key(p) for p in await commitments.points_of(db, t.id)}
    new = [p for p in w.points if points.key(p) not in known]
    w.points = new
    if not new or t.state is TicketState.RESOLVED:  # a courtesy on a resolved ticket
        w.decide("plan:follow-up", "-", "nothing new asked: the SE gets a copy, no acknowledgement")
        return
    reply = next(
        p for p in initial_promises(s.policy, w.row.received_at, w.now) if p.kind == "actionable"
    )
    w.follow_up_due = reply.due
    for point in new:
        await commitments.make(
            db, t.id, "point", reply.due, s.when(reply.due, t), w.now, point=point
        )
    due = reply.due.astimezone(s.calendar.tz).isoformat()
    w.decide("plan:follow-up", due, f"{len(new)} new point(s), each dated")


async def step_compose(s: Services, w: Work, db: Db) -> None:
    t, msg, route = w.the_ticket, w.message, w.route
    assert route is not None
    d = s.directory
    sc = (route.sc,) if route.sc else ()
    people = await participants.of(db, t.id)
    dates = {p.kind: p for p in w.promises}  # empty for a follow-up
    common = {
        "customer_name": msg.from_name or msg.from_address,
        "se_name": d.name_of(route.se),
        "sc_name": d.name_of(route.sc) if route.sc else "",
        "received_words": s.when(w.row.received_at, t),
        "actionable_words": s.when(dates["actionable"].due, t) if dates else "",
        "resolution_words": s.when(dates["resolution"].due, t) if dates else "",
    }
    fwd = w.forward
    forwarded = (
        {
            "by": fwd.by,
            "written_words": s.when(fwd.written_at, t) if fwd.written_at else "",
            "how": fwd.how,
            "note": fwd.note,
        }
        if fwd
        else None
    )
    if dates:
        missed = dates["actionable"].missed
        late = w.now - w.row.received_at > timedelta(minutes=s.config.sla.revision_grace_minutes)
        articles = selfhelp.suggest(s.config.articles, msg.subject, msg.text or msg.html)
        w.outgoing.append(
            s.composer.build(
                MailKind.ACK,
                Template.ACK,
                t,
                customer_envelope(t, people),
                {
                    **common,
                    "late_intake": late,
                    "missed_words": s.when(missed, t) if missed else "",
                    "points": w.points,
                    "articles": articles,
                    "reopened": w.reopened,
                    "forwarded": forwarded,
                },
                auto_submitted="auto-replied",
            )
        )
    new_words = s.when(w.follow_up_due, t) if w.follow_up_due else ""
    if new_words:
        w.outgoing.append(
            s.composer.build(
                MailKind.ACK,
                Template.FOLLOW_UP_ACK,
                t,
                # The writer is thanked, the ticket's other people (and the SC) in CC.
                customer_envelope(t, people, to=msg.from_address),
                {**common, "points": w.points, "actionable_words": new_words},
                auto_submitted="auto-replied",
            )
        )
    # The customer's files reach the SE inside the attached original, unless it is too big.
    files = attachments.extract(w.row.raw) if msg.attachments else []
    too_big = len(w.row.raw) > s.config.safety.max_attachment_bytes
    copy = {
        **common,
        "follow_up": not dates,
        "reopened": w.reopened,
        "new_points": w.points if new_words else [],
        "new_points_words": new_words,
        "route_reason": route.reason,
        "customer_text": msg.text or msg.html,
        "points": w.points or points.extract(msg.text, msg.html, s.config.sla.max_points),
        "triage": False,
        "sender_address": msg.from_address,
        "participants": people,
        "mentions": w.mentions,
        "mentions_why": w.mentions_why,
        "forwarded": forwarded,
        "files": [(f.filename, attachments.size_words(len(f.data))) for f in files],
        "original_left_out": attachments.size_words(len(w.row.raw)) if too_big else "",
        "inbox_id": w.row.id,
        "owner_name": d.name_of(route.se),
        "priority": t.priority,
        "product": t.product,
    }
    label = "Reopened" if w.reopened else "Follow-up" if not dates else "New"
    # The SC, and whoever of ours forwarded the mail: they know it was taken.
    by = fwd.by_address if fwd and fwd.by_address not in (route.se, route.sc) else ""
    staff_cc = (*sc, *((by,) if by else ()))
    for se, triage in ((route.se, False), (route.triage_se, True)):
        if not se:
            continue
        w.outgoing.append(
            s.composer.build(
                MailKind.SE_COPY,
                Template.SE_COPY,
                t,
                Envelope(to=(se,), cc=() if triage else staff_cc, reply_to=relay_for(s, t)),
                {**copy, "triage": triage},
                subject=staff_subject(
                    t, f"{'After hours: ' if triage else ''}{label}", msg.subject
                ),
                attach_raw=None if too_big else w.row.raw,
            )
        )
    for reason in await ledger.queue_mail(db, t, w.outgoing, w.now, s.config.safety):
        w.decide("cap", "withheld", reason)
        w.outgoing = [o for o in w.outgoing if not reason.startswith(o.kind + " ")]
    action = Action.ACKNOWLEDGE if dates else Action.FOLLOW_UP  # a follow-up's ack: see reason
    raise Done(action, f"{t.key}: " + ", ".join(o.kind for o in w.outgoing) + " queued")


PIPELINE: tuple[tuple[str, Step], ...] = (
    ("parse", step_parse),
    ("classify", step_classify),
    ("dedupe", step_dedupe),
    ("thread", step_thread),
    ("automated", step_automated),  # robots end here: recorded, never answered
    ("relay", step_relay),
    ("staff", step_staff),
    ("forward", step_forward),  # our own people passing on a customer's mail
    ("route", step_route),
    ("ticket", step_ticket),
    ("participants", step_participants),
    ("plan", step_plan),
    ("compose", step_compose),
)


async def run_pipeline(s: Services, w: Work, db: Db) -> Done:
    """Run every step; return how the message's journey ended."""
    for _name, step in PIPELINE:
        try:
            await step(s, w, db)
        except Done as done:
            return done
    raise AssertionError("the compose step always ends the journey")
