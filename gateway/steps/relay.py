"""An SE's (or SC's) mail to a ticket's relay address: proven, checked, then acted on.

Only mail to the relay address with the ticket's token, from configured staff, authenticated when
trust is configured, is acted on; anything else is recorded and reported, never answered (the
From may be forged). A valid mail is all or nothing: if any command is invalid, the sender is
told why and nothing else happens. Otherwise the commands of the first stage run (``#cc``,
``#eta``), the SE's words and files go to the customer, then the other commands run (each is a
module of :mod:`gateway.commands`), and the SE gets a confirmation of everything done.
"""

from __future__ import annotations

import hmac
import re

from gateway.commands import TABLE, Acting, Stage
from gateway.commands.base import points_now
from gateway.core.models import Action, DateKind, MailKind, Outbound, Ticket
from gateway.mail import attachments, richtext
from gateway.mail.mime import customer_envelope
from gateway.mail.staff_reply import (
    Command,
    InlineReply,
    SeReply,
    Substance,
    find_relay,
    internal_text,
    parse_reply,
    split_inline,
    substance,
    without_signature,
)
from gateway.mail.templating import Template
from gateway.pipeline.acting import security_alert, send, sender_verdict, to_actor
from gateway.pipeline.work import Done, Services, Work
from gateway.promise import ledger
from gateway.store import Db, commitments, participants, tickets


def step_relay(s: Services, w: Work, db: Db) -> None:
    msg = w.message
    found = find_relay((*msg.to, *msg.cc, *msg.delivered_to), s.config.support.address)
    if found is None:
        return
    key, token = found
    ticket = tickets.by_key(db, key)
    sender = msg.from_address
    problem = ""
    if ticket is None or not hmac.compare_digest(ticket.token, token):
        problem = f"wrong or unknown relay token for {key}"
    elif not s.directory.is_staff(sender):
        problem = f"{sender} is not a configured SE or SC"
    elif (verdict := sender_verdict(s, msg, w)) is not None and not verdict.authenticated:
        problem = f"{sender} is not authenticated: {verdict.reason}"
    if problem or ticket is None:
        raise _refuse(s, w, db, ticket, problem)
    w.ticket = ticket
    reply = parse_reply(msg.text, msg.html, TABLE)
    a = Acting(s, w, db, ticket, sender)
    errors = [*reply.errors, *_problems(a, reply)]
    if errors:
        error = to_actor(
            s, ticket, sender, MailKind.SE_ERROR, Template.SE_ERROR, {"errors": errors}
        )
        send(s, w, db, ticket, [error])
        raise Done(Action.RELAY, f"{ticket.key}: refused {len(errors)} invalid command(s)")
    _act(a, reply)


def _problems(a: Acting, reply: SeReply) -> list[str]:
    """Everything that stops this mail from acting, each naming its line."""
    t, s = a.ticket, a.s
    if t.merged_into is not None:
        survivor = tickets.current(a.db, t)
        return [f"{t.key} was merged into {survivor.key}: reply on {survivor.key}'s copy"]
    if not reply.commands and not without_signature(reply.text) and not a.w.message.attachments:
        return [
            "no words of yours were found in it, only the quoted copy"
            + (" and a signature" if reply.text else "")
            + ": nothing went to the customer and the ticket's dates stand. Write your answer"
            " above the quoted copy (or below it, outside the quote) and send it again"
        ]
    leaks = [*internal_text(reply.text, t.token), *_other_tickets(a, reply.text)]
    if leaks:
        return [
            "it holds text that is not for the customer, so nothing was sent and nothing was"
            " done: " + "; ".join(leaks) + ". Cut it (or reply above the quoted copy rather than"
            " into it) and send again. This is what would have gone out:\n\n" + reply.text
        ]
    problems = []
    if a.sharing:
        problems += [
            f"{c.line}: only {s.directory.name_of(t.se)}, who owns {t.key}, can do that"
            for c in reply.commands
            if not TABLE[c.name].sc_may
        ]
    for c in reply.commands:
        if problem := TABLE[c.name].check(a, c.arg):
            problems.append(f"{c.line}: {problem}")
    return problems


def _other_tickets(a: Acting, text: str) -> list[str]:
    """Keys of other customers' tickets named in ``text`` (an SE copy's "Mentions", say)."""
    prefix = a.s.config.support.ticket_prefix
    found = []
    for key in sorted(set(re.findall(rf"\b{re.escape(prefix)}-\d+\b", text, re.IGNORECASE))):
        other = tickets.by_key(a.db, key.upper())
        if other is not None and other.customer_address != a.ticket.customer_address:
            found.append(f"{other.key}, a ticket of another customer")
    return found


def _run(a: Acting, commands: tuple[Command, ...], stage: Stage) -> None:
    """The commands of one stage, in the table's order."""
    order = list(TABLE)
    for c in sorted(commands, key=lambda c: order.index(c.name)):
        if TABLE[c.name].stage is stage:
            TABLE[c.name].run(a, c.arg)


def _act(a: Acting, reply: SeReply) -> None:
    _run(a, reply.commands, Stage.BEFORE_REPLY)
    _relay(a, reply)
    if reply.moved:
        a.done.append(
            "ran "
            + ", ".join(c.line for c in reply.moved)
            + ", written below your text: taken out, the customer does not see "
            + ("it" if len(reply.moved) == 1 else "them")
        )
    _run(a, reply.commands, Stage.AFTER_REPLY)
    t = a.ticket
    confirm = to_actor(a.s, t, a.sender, MailKind.SE_CONFIRM, Template.SE_CONFIRM, {"done": a.done})
    send(a.s, a.w, a.db, t, [*a.mails, confirm])
    raise Done(Action.RELAY, f"{t.key}: " + "; ".join(a.done))


def _relay(a: Acting, reply: SeReply) -> None:
    """The SE's words (inline answers or prose) and files to the customer, with everyone on the
    customer's side and the SC in CC; or, with only a new date, the date alone."""
    s, db, t = a.s, a.db, a.ticket
    people = participants.of(db, t.id)
    points = [c.point for c in commitments.open_for(db, t.id) if c.kind == DateKind.POINT]
    inline = split_inline(reply.lines, points)
    files, left_out = attachments.within(
        attachments.extract(a.w.row.raw) if a.w.message.attachments else [],
        s.config.safety.max_attachment_bytes,
    )
    if not (inline.general or inline.inline or files or left_out):
        if a.eta_words or a.resolve_words:
            a.mails.append(_date_alone(a, people))
        return
    files_only = bool(files or left_out) and not inline.general
    kind = (
        Substance.ANSWER
        if inline.inline or files_only
        else substance(inline.general, s.directory.name_of(a.sender))
    )
    answered = kind is Substance.ANSWER
    if answered or a.when is not None:
        # An answer settles the points it answered (all, for prose) and carries the others
        # over; words that answer nothing keep every point open, to the SE's #eta when given.
        carried = ledger.answer_points(
            db,
            t,
            ({p for p, _ in inline.answers} if inline.inline else None) if answered else set(),
            a.when or s.policy.revised(a.now),
            lambda due: s.when(due, t),
            a.sender,
            a.now,
            a.owes,
        )
    else:
        carried = []
    a.mails.append(_reply(a, people, inline, carried, files, left_out))
    _say_files(a, files, left_out, carried)
    # An SC answering their request on the SE's ticket leaves the SE's next step owed.
    met = (
        ledger.responded(db, t, a.now, points_too=False)
        if (answered or a.when) and not a.sharing
        else 0
    )
    if not answered:
        a.done.append(_not_an_answer(kind, a.when is not None, points))
    if points:
        a.done.append(points_now(a))
    cc = customer_envelope(t, people).cc
    a.done.append(
        f"your answer went to {t.customer_address}"
        + (f", cc {', '.join(cc)}" if cc else "")
        + (f" ({met} date(s) met)" if met else "")
        + f": {_as_sent(inline.general, inline.answers)}"
    )


def _date_alone(a: Acting, people: list[str]) -> Outbound:
    """A reply with only a new date (#eta) and no words: the customer gets the date."""
    t, d = a.ticket, a.s.directory
    return a.s.composer.build(
        MailKind.ETA,
        Template.ETA_UPDATE,
        t,
        customer_envelope(t, people),
        {
            "customer_name": t.customer_name or t.customer_address,
            "se_name": d.name_of(a.sender),
            "eta_words": a.eta_words,
            "resolve_words": a.resolve_words,
        },
    )


def _reply(
    a: Acting,
    people: list[str],
    inline: InlineReply,
    carried: list[tuple[str, str]],
    files: list[attachments.Attachment],
    left_out: list[attachments.Attachment],
) -> Outbound:
    """The SE's answer as the customer reads it."""
    s, t, d = a.s, a.ticket, a.s.directory
    size = attachments.size_words
    return s.composer.build(
        MailKind.REPLY,
        Template.RELAY_REPLY,
        t,
        customer_envelope(t, people),
        {
            "text": inline.general,
            # The SE's own HTML, when it says exactly the words above (inline answers are
            # laid out under the customer's quoted points, from the text).
            "text_html": None
            if inline.answers
            else richtext.own_html(a.w.message.html, inline.general),
            "answers": inline.answers,
            "still_open": carried,
            "se_name": d.name_of(a.sender),
            "eta_words": a.eta_words,
            "resolve_words": a.resolve_words,
            "inline_images": [f.content_id for f in files if f.inline],
            "left_out": [(f.filename, size(len(f.data))) for f in left_out],
        },
        auto_submitted=None,
        from_name=f"{d.name_of(a.sender)} ({s.config.support.display_name})",
        files=files,
    )


def _say_files(
    a: Acting,
    files: list[attachments.Attachment],
    left_out: list[attachments.Attachment],
    carried: list[tuple[str, str]],
) -> None:
    """What the SE's confirmation says of their files and the points carried over."""
    size = attachments.size_words
    if files:
        a.done.append("with your files: " + ", ".join(f.filename for f in files))
    if left_out:
        a.done.append(
            f"not sent, over the limit of {size(a.s.config.safety.max_attachment_bytes)} a"
            " mail: "
            + ", ".join(f"{f.filename} ({size(len(f.data))})" for f in left_out)
            + "; the customer was told you will send it another way"
        )
    if carried:
        a.done.append(
            "carried over, with a date the customer is told: "
            + "; ".join(f"\u201c{p}\u201d by {when_}" for p, when_ in carried)
        )


def _not_an_answer(kind: Substance, dated: bool, points: list[str]) -> str:
    """What the SE is told when their words were sent but answer nothing yet."""
    what = (
        "a holding reply (it says you are on it, not the answer)"
        if kind is Substance.HOLDING
        else "only a greeting or a signature"
    )
    if dated:
        return f"your words read as {what}: nothing is recorded as answered; your #eta date stands"
    owed = (
        f"the customer's {len(points)} point(s) stay open with the dates they were told"
        if points
        else "the reply the customer is owed stays open with its date"
    )
    return (
        f"your words read as {what}: nothing is recorded as answered and {owed}. Reply with"
        " #eta <when> (e.g. #eta tomorrow 15:00) to tell the customer when, or send the answer"
    )


def _as_sent(general: str, answers: tuple[tuple[str, str], ...]) -> str:
    """What the customer reads, in a line: the first words and how much there is."""
    lines = [line for line in general.split("\n") if line.strip()]
    lines += [line for _, answer in answers for line in answer.split("\n") if line.strip()]
    if not lines:
        return "no text, only files"
    first = lines[0].strip()
    if len(first) > 60:
        first = first[:59].rstrip() + "\u2026"
    return f"\u201c{first}\u201d ({len(lines)} line{'s' if len(lines) != 1 else ''})"


def _refuse(s: Services, w: Work, db: Db, ticket: Ticket | None, problem: str) -> Done:
    """Record and report; never answer the sender (the From may be forged)."""
    # An unknown ticket key cannot be threaded anywhere: it is recorded (and logged) only.
    if ticket is not None:
        security_alert(s, w, db, ticket, problem, "Refused a mail to the relay address")
    w.decide("relay", "refused", problem)
    return Done(Action.REFUSED, f"relay refused: {problem}")
