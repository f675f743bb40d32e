"""The pipeline's compose step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

import re
from datetime import timedelta

from gateway.core.models import Action, DateKind, MailKind, Outbound, Ticket
from gateway.mail import attachments, points, selfhelp
from gateway.mail.mime import Envelope, customer_envelope, staff_subject
from gateway.mail.templating import Template
from gateway.pipeline.acting import relay_for
from gateway.pipeline.work import Done, Services, Work
from gateway.promise import ledger
from gateway.store import Db, outbox, participants
from gateway.text import details
from gateway.text.speech import ENGLISH, Ask, language_name


def step_compose(s: Services, w: Work, db: Db) -> None:
    t, msg, route = w.the_ticket, w.message, w.route
    assert route is not None
    d = s.directory
    sc = (route.sc,) if route.sc else ()
    people = participants.of(db, t.id)
    dates = {p.kind: p for p in w.promises}  # empty for a follow-up
    common = {
        "customer_name": msg.from_name or msg.from_address,
        "se_name": d.name_of(route.se),
        "sc_name": d.name_of(route.sc) if route.sc else "",
        "received_words": s.when(w.row.received_at, t),
        "actionable_words": s.when(dates[DateKind.ACTIONABLE].due, t) if dates else "",
        "resolution_words": s.when(dates[DateKind.RESOLUTION].due, t) if dates else "",
    }
    leads = _leads(s, w) if dates else ()  # nobody could keep the reply date: they hear at once
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
        missed = dates[DateKind.ACTIONABLE].missed
        # Late when the acknowledgement itself comes after its own target (an hour by default).
        late = w.now - w.row.received_at > timedelta(minutes=s.config.sla.acknowledge_minutes)
        articles = selfhelp.suggest(s.config.articles, msg.subject, msg.text or msg.html)
        # A first mail from someone on no account is acknowledged to them alone, and its
        # links are not repeated: our acknowledgement is nobody's relay to the addresses they
        # copied (those stay on the ticket and are in CC once an SE answers).
        stranger = w.new_ticket and not t.account
        said = _no_links if stranger else _as_is
        w.outgoing.append(
            s.composer.build(
                MailKind.ACK,
                Template.ACK,
                t,
                customer_envelope(t, [] if stranger else people),
                {
                    **common,
                    "late_intake": late,
                    "missed_words": s.when(missed, t) if missed else "",
                    "points": [said(p) for p in w.points],
                    "problem": said(points.stated_problem(msg.text, msg.html, w.points)),
                    "asks": _asks(s, t.product, msg.text or msg.html),
                    # A resolution date is a target until an engineer sets one (#eta resolve).
                    "resolution_promised": False,
                    "articles": articles,
                    "reopened": w.reopened,
                    "forwarded": forwarded,
                    "concern": w.concern,
                    "concern_told": _concern_told(s, w, t),
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
                {
                    **common,
                    "points": w.points,
                    "actionable_words": new_words,
                    "concern": w.concern,
                    "concern_told": _concern_told(s, w, t),
                },
                auto_submitted="auto-replied",
            )
        )
    after_deadline = _after_deadline(s, w, t)
    # The customer's files reach the SE inside the attached original, unless it is too big.
    files = attachments.extract(w.row.raw) if msg.attachments else []
    too_big = len(w.row.raw) > s.config.safety.max_attachment_bytes
    urgent = bool(w.urgent) and s.config.sla.urgency != "off"
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
        "pending": w.pending,
        "mentions": w.mentions,
        "mentions_why": w.mentions_why,
        "forwarded": forwarded,
        "files": [(f.filename, attachments.size_words(len(f.data))) for f in files],
        "original_left_out": attachments.size_words(len(w.row.raw)) if too_big else "",
        "inbox_id": w.row.id,
        "owner_name": d.name_of(route.se),
        "priority": t.priority,
        # the customer's mail is in another language than ours: the SE should know
        "language_name": language_name(t.language) if t.language != ENGLISH else "",
        "product": t.product,
        "capacity_note": _capacity_note(s, w, leads),
        "at_risk": w.concern,
        "at_risk_told": ", ".join(d.name_of(a) for a in _at_risk_recipients(s, w, t)),
        "deadline_words": s.when(t.deadline_at, t) if t.deadline_at else "",
        "deadline_said": t.deadline_said,
        "deadline_after": [words for _, words in after_deadline],
        "urgent": w.urgent if urgent else "",
        "urgent_applied": s.config.sla.urgency == "apply",
    }
    label = "Reopened" if w.reopened else "Follow-up" if not dates else "New"
    if urgent:
        label = f"{'Urgent' if s.config.sla.urgency == 'apply' else 'Urgent?'} {label.lower()}"
    if w.concern:
        label = f"At risk: {label}"
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
    if w.concern:
        w.outgoing.append(_at_risk_alert(s, w, t))
    if after_deadline:
        w.outgoing.append(_deadline_alert(s, w, t, after_deadline))
    if leads:
        check = w.later
        assert check is not None
        w.outgoing.append(
            s.composer.build(
                MailKind.CAPACITY_ALERT,
                Template.CAPACITY_ALERT,
                t,
                Envelope(to=leads, reply_to=relay_for(s, t)),
                {
                    **common,
                    "policy_words": s.when(check.policy_due, t),
                    "estimates": [e.why for e in check.looked_at],
                },
                subject=staff_subject(t, "Later reply date", msg.subject),
            )
        )
    _cap_staff_mail(s, w, db, t)
    for reason in ledger.queue_mail(db, t, w.outgoing, w.now, s.config.safety):
        w.decide("cap", "withheld", reason)
        w.outgoing = [o for o in w.outgoing if not reason.startswith(f"{o.kind} withheld")]
    action = Action.ACKNOWLEDGE if dates else Action.FOLLOW_UP  # a follow-up's ack: see reason
    raise Done(action, f"{t.key}: " + ", ".join(o.kind for o in w.outgoing) + " queued")


# What one outside sender's mail makes for our own people.
_STAFF_MAIL = frozenset({MailKind.SE_COPY, MailKind.NOTE, MailKind.CAPACITY_ALERT})


def _cap_staff_mail(s: Services, w: Work, db: Db, t: Ticket) -> None:
    """Mail from one sender outside the team makes at most
    ``safety.max_staff_mail_per_sender_per_day`` mails' worth of SE copies and alerts a day:
    past it the tickets are still opened and kept, and the lead hears once, not the SE a
    thousand times."""
    sender = w.message.from_address
    if s.directory.is_staff(sender) or not any(o.kind in _STAFF_MAIL for o in w.outgoing):
        return
    cap = s.config.safety.max_staff_mail_per_sender_per_day
    seen = outbox.caused_by(db, sender, w.now - timedelta(days=1))
    outbox.record_cause(db, sender, w.now)
    if seen < cap:
        return
    w.outgoing = [o for o in w.outgoing if o.kind not in _STAFF_MAIL]
    w.decide("cap", "withheld", f"SE copy and alerts: {sender} sent {seen + 1} mails today")
    leads = tuple(a for a in (_leads_in(s, w) or [s.config.routing.escalation]) if a)
    if seen == cap and leads:  # the first one over: the lead hears, once a day
        w.outgoing.append(
            s.composer.build(
                MailKind.NOTE,
                Template.NOTE,
                t,
                Envelope(to=leads),
                {
                    "author": "the gateway",
                    "note": f"{sender} has sent {seen + 1} mails today. Their tickets are"
                    f" still opened ({t.key} is the newest), but no more SE copies or alerts"
                    " go out for their mail until tomorrow: see the web view or status, and"
                    " look at the sender (safety.max_staff_mail_per_sender_per_day).",
                },
                subject=staff_subject(t, "Many mails from one sender", w.message.subject),
            )
        )


_LINK = re.compile(
    r"\b(?:(?:https?|ftp)://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*|\bmailto:\S+", re.IGNORECASE
)


def _no_links(text: str) -> str:
    """``text`` with its links taken out (a stranger's words are quoted, their links not)."""
    return _LINK.sub("[link removed]", text)


def _as_is(text: str) -> str:
    return text


def _leads_in(s: Services, w: Work) -> list[str]:
    d, today = s.directory, s.calendar.local_date(w.now)
    return [
        p.address for p in s.config.people if p.role == "lead" and d.available(p.address, today)
    ]


def _concern_told(s: Services, w: Work, t: Ticket) -> str:
    """Who the acknowledgement may say knows of the customer's concern (see _at_risk_alert)."""
    if not w.concern:
        return ""
    return "sc" if t.sc else "lead" if _leads_in(s, w) else ""


def _at_risk_recipients(s: Services, w: Work, t: Ticket) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*((t.sc,) if t.sc else ()), *_leads_in(s, w)])) or (t.se,)


def _at_risk_alert(s: Services, w: Work, t: Ticket) -> Outbound:
    """The SC and the leads hear at once that a customer is unhappy with us (the SE reads it
    at the top of their copy)."""
    d = s.directory
    to = _at_risk_recipients(s, w, t)
    return s.composer.build(
        MailKind.NOTE,
        Template.NOTE,
        t,
        Envelope(to=to, cc=() if t.se in to else (t.se,)),
        {
            "author": "the gateway",
            "note": f"{w.message.from_address} sounds unhappy with us on {t.key}:"
            f" \u201c{w.concern}\u201d. {d.name_of(t.se)} has the ticket.",
        },
        subject=staff_subject(t, "At risk", w.message.subject),
    )


def _after_deadline(s: Services, w: Work, t: Ticket) -> list[tuple[DateKind, str]]:
    """(kind, words) of each date we give in this mail that falls after the deadline the
    customer stated in it: never promised without the SE and SC knowing at once."""
    if w.deadline is None or t.deadline_at is None:
        return []
    named = {DateKind.ACTIONABLE: "the reply date", DateKind.RESOLUTION: "the resolution target"}
    dates = [(p.kind, p.due) for p in w.promises if p.kind in named]
    if w.follow_up_due:
        dates.append((DateKind.ACTIONABLE, w.follow_up_due))
    return [
        (kind, f"{named[kind]}, {s.staff_when(due)}") for kind, due in dates if due > t.deadline_at
    ]


def _deadline_alert(s: Services, w: Work, t: Ticket, after: list[tuple[DateKind, str]]) -> Outbound:
    """The SE and SC hear at once that a date we gave falls after the customer's deadline."""
    d = s.directory
    assert t.deadline_at is not None
    return s.composer.build(
        MailKind.NOTE,
        Template.NOTE,
        t,
        Envelope(to=(t.se,), cc=(t.sc,) if t.sc else ()),
        {
            "author": "the gateway",
            "note": f"{w.message.from_address} needs {t.key} by {s.staff_when(t.deadline_at)}"
            f" (\u201c{t.deadline_said}\u201d), and we told them "
            + " and ".join(words for _, words in after)
            + f". {d.name_of(t.se)}: agree what is possible with them (#eta resolve <when>"
            " sets a resolution date), or say why not.",
        },
        subject=staff_subject(t, "After the customer's deadline", w.message.subject),
    )


def _asks(s: Services, product: str, text: str) -> list[Ask]:
    """The details a fault report lacks, as the product (or support) config lists them."""
    configured = next((p for p in s.config.products if p.name == product), None)
    wanted = s.config.support.ask_for
    if configured is not None and configured.ask_for is not None:
        wanted = configured.ask_for
    return details.missing(text, wanted, product)


def _leads(s: Services, w: Work) -> tuple[str, ...]:
    """Who hears at once that nobody could keep the policy's reply date: the team's leads who
    are in, else the escalation contact (nobody when the date could be kept)."""
    if w.later is None:
        return ()
    d, today = s.directory, s.calendar.local_date(w.now)
    leads = [
        p.address for p in s.config.people if p.role == "lead" and d.available(p.address, today)
    ]
    escalation = s.config.routing.escalation
    return tuple(leads) or ((escalation,) if escalation else ())


def _capacity_note(s: Services, w: Work, leads: tuple[str, ...]) -> str:
    """For the SE copy: why the customer was given a later reply date than the policy's."""
    check = w.later
    if check is None:
        return ""
    told = "the lead is alerted" if leads else "nobody else is told (no lead is in)"
    return (
        f"later than the policy's {s.staff_when(check.policy_due)}, which nobody in could likely"
        f" keep ({check.chosen.why}); {told}"
    )
