"""What an SE (or SC) writing to a ticket's relay address makes happen (the step that proves
and checks such mail is gateway/steps/relay.py).

Security first: the mail must come to the ticket's relay address with the right token, from a
configured SE (SCs may only add ``#note``), and, when trusted servers are configured, carry a
passing ``Authentication-Results`` from one of them. Anything else is refused: nothing is
relayed, no command runs, the sender gets no answer (the From may be forged) and the escalation
contact is told.

A valid mail is all-or-nothing: if any command is invalid, the SE gets an error naming it and
nothing reaches the customer. Otherwise the SE's words go to the customer from the support
address under the SE's name, threaded, with the SC in CC; the commands act on the ticket; the SE
gets a short confirmation.
"""

from __future__ import annotations

from datetime import datetime

from gateway import attachments, handover, ledger, senderauth
from gateway.compose import Envelope, customer_envelope, staff_subject
from gateway.models import Action, InboundMessage, MailKind, Outbound, Ticket
from gateway.parse import addresses_in
from gateway.relay import (
    SeReply,
    relay_address,
    split_inline,
)
from gateway.store import Db, commitments, participants, story, tickets
from gateway.store.story import STORY_KINDS, StoryMail
from gateway.templating import Template
from gateway.words import KIND_WORDS
from gateway.work import Done, Services, Work


def relay_for(s: Services, ticket: Ticket) -> str:
    return relay_address(s.config.support.address, ticket.key, ticket.token)


def sender_verdict(s: Services, msg: InboundMessage, w: Work) -> senderauth.Verdict | None:
    """Whether the From is authenticated (see :mod:`gateway.senderauth`), recorded for
    ``explain``; None when no trusted server is configured, so the From is believed (the README
    says what that allows)."""
    trusted = frozenset(t.lower() for t in s.config.relay.trusted_authserv_ids)
    if not trusted:
        w.decide("sender-auth", "unchecked", "relay.trusted_authserv_ids is empty: From believed")
        return None
    verdict = senderauth.verify(
        msg.headers.get("authentication-results", ()),
        msg.from_address,
        trusted,
        strict=s.config.relay.alignment == "strict",
    )
    w.decide("sender-auth", "pass" if verdict.authenticated else "fail", verdict.reason)
    return verdict


async def act(
    s: Services,
    w: Work,
    db: Db,
    t: Ticket,
    reply: SeReply,
    when: datetime | None,
) -> None:
    sender = w.message.from_address
    d = s.directory
    names = {c.name: c for c in reply.commands}
    done: list[str] = []
    mails: list[Outbound] = []
    sc = (t.sc,) if t.sc else ()
    if "cc" in names:  # first, so this very reply already goes to the new set
        done.append(await _cc(s, db, t, names["cc"].arg, sender, w.now))
    people = await participants.of(db, t.id)
    eta_words = ""
    if when is not None:
        eta_words = s.when(when, t)
        await ledger.set_eta(db, t, when, w.now, eta_words, sender)
        done.append(f"next date set: {eta_words} (the customer is told)")
    points = [c.point for c in await commitments.open_for(db, t.id) if c.kind == "point"]
    inline = split_inline(reply.body, points)
    files, left_out = attachments.within(
        attachments.extract(w.row.raw) if w.message.attachments else [],
        s.config.safety.max_attachment_bytes,
    )
    if inline.general or inline.inline or files or left_out:
        carried = await ledger.answer_points(
            db,
            t,
            {p for p, _ in inline.answers} if inline.inline else None,
            when or s.policy.revised(w.now),
            lambda due: s.when(due, t),
            sender,
            w.now,
        )
        mails.append(
            s.composer.build(
                MailKind.REPLY,
                Template.RELAY_REPLY,
                t,
                customer_envelope(t, people),
                {
                    "text": inline.general,
                    "answers": inline.answers,
                    "still_open": carried,
                    "se_name": d.name_of(sender),
                    "eta_words": eta_words,
                    "inline_images": [f.content_id for f in files if f.inline],
                    "left_out": [
                        (f.filename, attachments.size_words(len(f.data))) for f in left_out
                    ],
                },
                auto_submitted=None,
                from_name=f"{d.name_of(sender)} ({s.config.support.display_name})",
                files=files,
            )
        )
        if files:
            done.append("with your files: " + ", ".join(f.filename for f in files))
        if left_out:
            done.append(
                "not sent, over the limit of"
                f" {attachments.size_words(s.config.safety.max_attachment_bytes)} a mail: "
                + ", ".join(
                    f"{f.filename} ({attachments.size_words(len(f.data))})" for f in left_out
                )
                + "; the customer was told you will send it another way"
            )
        if carried:
            done.append(
                "carried over, with a date the customer is told: "
                + "; ".join(f"\u201c{p}\u201d by {when_}" for p, when_ in carried)
            )
        met = await ledger.responded(db, t, w.now, points_too=False)
        cc = customer_envelope(t, people).cc
        done.append(
            f"your answer went to {t.customer_address}"
            + (f", cc {', '.join(cc)}" if cc else "")
            + (f" ({met} date(s) met)" if met else "")
            + f": {_as_sent(inline.general, inline.answers)}"
        )
    elif eta_words:
        mails.append(
            s.composer.build(
                MailKind.ETA,
                Template.ETA_UPDATE,
                t,
                customer_envelope(t, people),
                {
                    "customer_name": t.customer_name or t.customer_address,
                    "se_name": d.name_of(sender),
                    "eta_words": eta_words,
                },
            )
        )
    if reply.moved:
        done.append(
            "ran "
            + ", ".join(c.line for c in reply.moved)
            + ", written below your text: taken out, the customer does not see "
            + ("it" if len(reply.moved) == 1 else "them")
        )
    if "note" in names:
        note = names["note"].arg
        mails.append(
            s.composer.build(
                MailKind.NOTE,
                Template.NOTE,
                t,
                Envelope(to=tuple(dict.fromkeys([t.se, *sc]))),
                {"author": d.name_of(sender), "note": note},
                subject=f"[{t.key}] Internal note from {d.name_of(sender)}",
            )
        )
        done.append("note recorded and sent to the SE and SC (not the customer)")
    if "priority" in names:
        level = names["priority"].arg.lower()
        await tickets.update(db, t.id, priority=level)
        done.append(f"priority set to {level}")
    if "merge" in names:
        done.append(await _merge(s, db, t, names["merge"].arg, sender, w.now, mails))
        people = await participants.of(db, t.id)
    if "assign" in names:
        person = d.find_person(names["assign"].arg)
        assert person is not None  # checked before acting
        await tickets.update(db, t.id, se=person.address)
        t = await tickets.get(db, t.id)
        mails.append(
            s.composer.build(
                MailKind.SE_COPY,
                Template.ASSIGNED,
                t,
                Envelope(to=(person.address,), cc=sc, reply_to=relay_for(s, t)),
                {
                    "by": d.name_of(sender),
                    "customer_name": t.customer_name,
                    "ticket_question": (await tickets.history(db, t.id))["question"],
                    **await _handover(s, db, t, mails, w.now),
                },
                subject=staff_subject(t, "Assigned to you"),
            )
        )
        done.append(f"assigned to {person.name}")
    if "waiting" in names:
        await ledger.pause(db, await tickets.get(db, t.id), w.now)
        done.append("waiting on the customer: dates paused until they reply")
    if "resolved" in names:
        await ledger.resolve(db, await tickets.get(db, t.id), w.now)
        if t.sc:
            mails.append(await _done_summary(s, db, await tickets.get(db, t.id), w.now))
        done.append("resolved" + (f"; {d.name_of(t.sc)} (SC) has the summary" if t.sc else ""))
    mails.append(to_actor(s, t, sender, MailKind.SE_CONFIRM, Template.SE_CONFIRM, {"done": done}))
    await send(s, w, db, t, mails)
    raise Done(Action.RELAY, f"{t.key}: " + "; ".join(done))


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


async def merge_problem(db: Db, t: Ticket, key: str) -> str:
    """Why ``key`` cannot be merged into ``t`` ('' when it can)."""
    other = await tickets.by_key(db, key)
    if other is None:
        return f"there is no ticket {key}"
    if other.id == t.id:
        return f"{key} is this ticket"
    if other.merged_into is not None:
        return f"{key} was already merged into {(await tickets.current(db, other)).key}"
    same = (t.account and t.account == other.account) or (
        t.customer_address.lower() == other.customer_address.lower()
    )
    if not same:
        return f"{key} is another customer's ticket ({other.customer_address})"
    return ""


async def _merge(
    s: Services, db: Db, t: Ticket, key: str, sender: str, now: datetime, mails: list[Outbound]
) -> str:
    """#merge SUP-n: SUP-n joins this ticket; the customer is told the one reference to use."""
    other = await tickets.by_key(db, key)
    assert other is not None  # checked before acting
    moved = await ledger.merge(db, t, other, now, sender)
    people = await participants.of(db, t.id)
    mails.append(
        s.composer.build(
            MailKind.MERGE_NOTICE,
            Template.MERGE_NOTICE,
            t,
            customer_envelope(t, people),
            {
                "customer_name": t.customer_name or t.customer_address,
                "merged": other,
                "se_name": s.directory.name_of(sender),
                "dates": await _open_dates(db, t),
            },
        )
    )
    return (
        f"{other.key} merged into {t.key}: {len(moved)} open date(s) and its people moved;"
        f" the customer was told to use [{t.key}]"
    )


async def _open_dates(db: Db, t: Ticket) -> list[dict[str, str]]:
    """The ticket's standing dates, as the customer was told them."""
    return [
        {"kind_words": KIND_WORDS.get(c.kind, c.kind), "point": c.point, "words": c.told}
        for c in await commitments.open_for(db, t.id)
    ]


async def _handover(
    s: Services, db: Db, t: Ticket, sending: list[Outbound], now: datetime
) -> dict[str, object]:
    """What the SE taking ``t`` over needs: the story so far (newest first, the mail this very
    reply sends included), the open dates and the customer's people."""
    limit = handover.MAILS
    pending = [
        StoryMail("out", now, o.kind, o.raw) for o in reversed(sending) if o.kind in STORY_KINDS
    ]
    mails = (pending + await story.of(db, t.id, limit))[:limit]
    return {
        "story": handover.digest(mails, lambda at: s.when(at, t)),
        "story_total": len(pending) + await story.count(db, t.id),
        "open_dates": await _open_dates(db, t),
        "participants": await participants.of(db, t.id),
    }


async def _cc(s: Services, db: Db, t: Ticket, arg: str, sender: str, now: datetime) -> str:
    """#cc add|remove <address>: the customer-side people in CC of every customer mail."""
    verb, address = arg.split()[0].lower(), addresses_in(arg.split()[-1])[0]
    if verb == "remove":
        if await participants.remove(db, t.id, address):
            return f"{address} removed: no more mail on this ticket goes to them"
        return f"{address} was not on the ticket"
    cap = s.config.safety.max_participants
    if await participants.add(db, t.id, [("", address)], now, sender, cap):
        return f"{address} added: in CC of every mail to the customer from now on"
    if await participants.includes(db, t.id, address):
        return f"{address} was already on the ticket"
    return f"{address} not added: the ticket already has {cap} people on the customer side"


async def _done_summary(s: Services, db: Db, t: Ticket, now: datetime) -> Outbound:
    facts = await tickets.history(db, t.id)
    took = s.calendar.business_time_between(t.received_at, now)
    hours = round(took.total_seconds() / 3600, 1)
    context = {
        "customer_name": t.customer_name or t.customer_address,
        "question": facts["question"],
        "answered_by": s.directory.name_of(t.se),
        "received_words": s.when(t.received_at, t),
        "responded_words": s.when(facts["responded_at"], t) if facts["responded_at"] else "",
        "resolved_words": s.when(now, t),
        "business_hours": hours,
        "missed": await commitments.missed_count(db, t.id),
    }
    return s.composer.build(
        MailKind.DONE,
        Template.DONE_SUMMARY,
        t,
        Envelope(to=(t.sc,)),
        context,
        subject=staff_subject(t, "Resolved"),
    )


def to_actor(
    s: Services,
    t: Ticket,
    actor: str,
    kind: MailKind,
    template: Template,
    context: dict[str, object],
) -> Outbound:
    return s.composer.build(
        kind,
        template,
        t,
        Envelope(to=(actor,), reply_to=relay_for(s, t)),
        {"actor": s.directory.name_of(actor), **context},
        subject=f"[{t.key}] "
        + ("Done" if kind is MailKind.SE_CONFIRM else "Not done: please check"),
    )


async def send(s: Services, w: Work, db: Db, t: Ticket, mails: list[Outbound]) -> None:
    await tickets.add_message_id(db, w.message.message_id, t.id, "in")
    await ledger.queue_mail(db, t, mails, w.now)
    w.outgoing.extend(mails)


async def security_alert(
    s: Services, w: Work, db: Db, ticket: Ticket, problem: str, what: str
) -> None:
    """Tell the escalation contact (else the default SE) about mail that claimed to be staff."""
    msg = w.message
    notify = s.config.routing.escalation or s.config.routing.default_se
    alert = s.composer.build(
        MailKind.SECURITY_ALERT,
        Template.SECURITY_ALERT,
        ticket,
        Envelope(to=(notify,)),
        {
            "problem": problem,
            "sender": msg.from_address,
            "subject": msg.subject,
            "message_id": msg.message_id,
        },
        subject=f"[{ticket.key}] {what}",
    )
    await ledger.queue_mail(db, ticket, [alert], w.now)
    w.outgoing.append(alert)
