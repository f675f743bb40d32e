"""The pipeline's compose step (see gateway/pipeline/order.py for the whole story): the mail one
message makes, each kind by its own function in :data:`MAILS`, queued in one go (the staff
alerts are gateway/pipeline/composing.py's)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from gateway.core.models import Action, DateKind, MailKind, Outbound
from gateway.mail import attachments, points, selfhelp
from gateway.mail.mime import Envelope, customer_envelope, staff_subject
from gateway.mail.templating import Template
from gateway.pipeline.acting import relay_for
from gateway.pipeline.composing import (
    Composing,
    after_deadline,
    at_risk_alert,
    at_risk_recipients,
    cap_staff_mail,
    capacity_alert,
    capacity_note,
    concern_told,
    deadline_alert,
    leads,
)
from gateway.pipeline.work import Done, Services, Work
from gateway.promise import ledger
from gateway.store import Db
from gateway.text import details
from gateway.text.speech import ENGLISH, Ask, language_name


def step_compose(s: Services, w: Work, db: Db) -> None:
    c = _composing(s, w)
    for mails in MAILS:
        w.outgoing.extend(mails(s, w, c))
    cap_staff_mail(s, w, db, c.t)
    for reason in ledger.queue_mail(db, c.t, w.outgoing, w.now, s.config.safety):
        w.decide("cap", "withheld", reason)
        w.outgoing = [o for o in w.outgoing if not reason.startswith(f"{o.kind} withheld")]
    action = Action.ACKNOWLEDGE if c.dates else Action.FOLLOW_UP  # a follow-up's ack: see reason
    raise Done(action, f"{c.t.key}: " + ", ".join(o.kind for o in w.outgoing) + " queued")


def _composing(s: Services, w: Work) -> Composing:
    t, msg, route = w.the_ticket, w.message, w.route
    assert route is not None
    d = s.directory
    dates = {p.kind: p for p in w.promises}  # empty for a follow-up
    fwd = w.forward
    return Composing(
        t=t,
        route=route,
        people=w.people,
        dates=dates,
        common={
            "customer_name": msg.from_name or msg.from_address,
            "se_name": d.name_of(route.se),
            "sc_name": d.name_of(route.sc) if route.sc else "",
            "received_words": s.when(w.row.received_at, t),
            "actionable_words": s.when(dates[DateKind.ACTIONABLE].due, t) if dates else "",
            "resolution_words": s.when(dates[DateKind.RESOLUTION].due, t) if dates else "",
        },
        forwarded=(
            {
                "by": fwd.by,
                "written_words": s.when(fwd.written_at, t) if fwd.written_at else "",
                "how": fwd.how,
                "note": fwd.note,
            }
            if fwd
            else None
        ),
        new_words=s.when(w.follow_up_due, t) if w.follow_up_due else "",
        leads=leads(s, w) if dates else (),  # nobody could keep the reply date: they hear now
        after_deadline=after_deadline(s, w, t),
    )


def ack(s: Services, w: Work, c: Composing) -> list[Outbound]:
    """A new ticket's acknowledgement, with its dates, to the customer."""
    if not c.dates:
        return []
    t, msg = c.t, w.message
    missed = c.dates[DateKind.ACTIONABLE].missed
    # Late when the acknowledgement itself comes after its own target (an hour by default).
    late = w.now - w.row.received_at > timedelta(minutes=s.config.sla.acknowledge_minutes)
    # A first mail from someone on no account is acknowledged to them alone, and its links are
    # not repeated: our acknowledgement is nobody's relay to the addresses they copied (those
    # stay on the ticket and are in CC once an SE answers).
    stranger = w.new_ticket and not t.account
    said = _no_links if stranger else _as_is
    context = {
        **c.common,
        "late_intake": late,
        "missed_words": s.when(missed, t) if missed else "",
        "points": [said(p) for p in w.points],
        "problem": said(points.stated_problem(msg.text, msg.html, w.points)),
        "asks": _asks(s, t.product, msg.text or msg.html),
        # A resolution date is a target until an engineer sets one (#eta resolve).
        "resolution_promised": False,
        "articles": selfhelp.suggest(s.config.articles, msg.subject, msg.text or msg.html),
        "reopened": w.reopened,
        "forwarded": c.forwarded,
        "concern": w.concern,
        "concern_told": concern_told(s, w, t),
        **_sc_share(s, w, c, said),
    }
    envelope = customer_envelope(t, [] if stranger else c.people)
    return [
        s.composer.build(
            MailKind.ACK, Template.ACK, t, envelope, context, auto_submitted="auto-replied"
        )
    ]


def follow_up_ack(s: Services, w: Work, c: Composing) -> list[Outbound]:
    """A follow-up that asks something new: its writer hears when they will have the answer."""
    if not c.new_words:
        return []
    context = {
        **c.common,
        "points": w.points,
        "actionable_words": c.new_words,
        "concern": w.concern,
        "concern_told": concern_told(s, w, c.t),
        **_sc_share(s, w, c, _as_is),
    }
    return [
        s.composer.build(
            MailKind.ACK,
            Template.FOLLOW_UP_ACK,
            c.t,
            # The writer is thanked, the ticket's other people (and the SC) in CC.
            customer_envelope(c.t, c.people, to=w.message.from_address),
            context,
            auto_submitted="auto-replied",
        )
    ]


def se_copies(s: Services, w: Work, c: Composing) -> list[Outbound]:
    """The SE's copy of the thread (and, after hours, the on-duty SE's triage copy): the
    customer's words and files, the dates, and all the gateway read in them."""
    t, msg, route = c.t, w.message, c.route
    too_big = len(w.row.raw) > s.config.safety.max_attachment_bytes
    copy = _copy_context(s, w, c, too_big)
    label = _label(s, w, c)
    # The SC, and whoever of ours forwarded the mail: they know it was taken.
    fwd = w.forward
    by = fwd.by_address if fwd and fwd.by_address not in (route.se, route.sc) else ""
    share = w.sc_share.owner if w.sc_share else ""
    staff_cc = tuple(
        dict.fromkeys(a for a in (route.sc, share, by) if a and a.lower() != route.se.lower())
    )
    return [
        s.composer.build(
            MailKind.SE_COPY,
            Template.SE_COPY,
            t,
            Envelope(to=(se,), cc=() if triage else staff_cc, reply_to=relay_for(s, t)),
            {**copy, "triage": triage},
            subject=staff_subject(t, f"{'After hours: ' if triage else ''}{label}", msg.subject),
            attach_raw=None if too_big else w.row.raw,
        )
        for se, triage in ((route.se, False), (route.triage_se, True))
        if se
    ]


def _copy_context(s: Services, w: Work, c: Composing, too_big: bool) -> dict[str, Any]:
    t, msg, d = c.t, w.message, s.directory
    # The customer's files reach the SE inside the attached original, unless it is too big.
    files = attachments.extract(w.row.raw) if msg.attachments else []
    urgent = bool(w.urgent) and s.config.sla.urgency != "off"
    return {
        **c.common,
        "follow_up": not c.dates,
        "reopened": w.reopened,
        "new_points": w.points if c.new_words else [],
        "new_points_words": c.new_words,
        "route_reason": c.route.reason,
        "customer_text": msg.text or msg.html,
        "points": w.points or points.extract(msg.text, msg.html, s.config.sla.max_points),
        "triage": False,
        "sender_address": msg.from_address,
        "participants": c.people,
        "pending": w.pending,
        "mentions": w.mention.key if w.mention else "",
        "mentions_why": w.mention.why if w.mention else "",
        "forwarded": c.forwarded,
        "files": [(f.filename, attachments.size_words(len(f.data))) for f in files],
        "original_left_out": attachments.size_words(len(w.row.raw)) if too_big else "",
        "inbox_id": w.row.id,
        "owner_name": d.name_of(c.route.se),
        "priority": t.priority,
        # the customer's mail is in another language than ours: the SE should know
        "language_name": language_name(t.language) if t.language != ENGLISH else "",
        "product": t.product,
        "capacity_note": capacity_note(s, w, c.leads),
        "at_risk": w.concern,
        "at_risk_told": ", ".join(d.name_of(a) for a in at_risk_recipients(s, w, t)),
        "deadline_words": s.when(t.deadline_at, t) if t.deadline_at else "",
        "deadline_said": t.deadline_said,
        "deadline_after": [words for _, words in c.after_deadline],
        "urgent": w.urgent if urgent else "",
        "urgent_applied": s.config.sla.urgency == "apply",
        **_sc_share(s, w, c, _as_is),
    }


def _sc_share(s: Services, w: Work, c: Composing, said: Callable[[str], str]) -> dict[str, Any]:
    """The points the SC answers on a ticket someone else owns, by whom and by when."""
    share = w.sc_share
    if share is None or (not c.dates and not c.new_words):
        return {"sc_points": [], "sc_owner_name": "", "sc_words": ""}
    return {
        "sc_points": [said(p) for p, _ in share.points if p in w.points],
        "sc_owner_name": s.directory.name_of(share.owner),
        "sc_words": s.when(share.due, c.t),
    }


def _label(s: Services, w: Work, c: Composing) -> str:
    """How the SE copy's subject begins: what the mail is to the SE at a glance."""
    label = "Reopened" if w.reopened else "Follow-up" if not c.dates else "New"
    if w.urgent and s.config.sla.urgency != "off":
        label = f"{'Urgent' if s.config.sla.urgency == 'apply' else 'Urgent?'} {label.lower()}"
    if w.concern:
        label = f"At risk: {label}"
    return label


# The mail one message makes, in the order it is queued.
MAILS: tuple[Callable[[Services, Work, Composing], list[Outbound]], ...] = (
    ack,
    follow_up_ack,
    se_copies,
    at_risk_alert,
    deadline_alert,
    capacity_alert,
)


_LINK = re.compile(
    r"\b(?:(?:https?|ftp)://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*|\bmailto:\S+", re.IGNORECASE
)


def _no_links(text: str) -> str:
    """``text`` with its links taken out (a stranger's words are quoted, their links not)."""
    return _LINK.sub("[link removed]", text)


def _as_is(text: str) -> str:
    return text


def _asks(s: Services, product: str, text: str) -> list[Ask]:
    """The details a fault report lacks, as the product (or support) config lists them."""
    configured = next((p for p in s.config.products if p.name == product), None)
    wanted = s.config.support.ask_for
    if configured is not None and configured.ask_for is not None:
        wanted = configured.ask_for
    return details.missing(text, wanted, product)
