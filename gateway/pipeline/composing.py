"""The mail one message makes for our own people besides the SE's copy, and what every mail of
its composing shares (:class:`Composing`): the at-risk note, the note that a date falls after the
customer's deadline, the lead's alert that nobody could keep the reply date, and the daily cap on
what one outside sender's mail makes for staff. The compose step (gateway/steps/compose.py) lays
them out in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway.core.models import DateKind, MailKind, Outbound, Role, Route, Ticket
from gateway.mail.mime import Envelope, staff_subject
from gateway.mail.templating import Template
from gateway.pipeline.acting import relay_for
from gateway.pipeline.work import Services, Work
from gateway.promise.sla import Promise
from gateway.store import Db, outbox


@dataclass(frozen=True)
class Composing:
    """What every mail about one message is made from."""

    t: Ticket
    route: Route
    people: list[str]  # the ticket's participants mail goes to
    dates: dict[DateKind, Promise]  # a new ticket's; empty for a follow-up
    common: dict[str, Any]  # the names and dates every template says
    forwarded: dict[str, str] | None  # the forward our person made, as templates say it
    new_words: str  # a follow-up's new reply date, in words ("" when it set none)
    leads: tuple[str, ...]  # who hears that nobody could keep the reply date
    after_deadline: list[tuple[DateKind, str]]  # dates we give after the customer's deadline


def at_risk_alert(s: Services, w: Work, c: Composing) -> list[Outbound]:
    """The SC and the leads hear at once that a customer is unhappy with us (the SE reads it
    at the top of their copy)."""
    if not w.concern:
        return []
    t, d = c.t, s.directory
    to = at_risk_recipients(s, w, t)
    return [
        s.composer.build(
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
    ]


def deadline_alert(s: Services, w: Work, c: Composing) -> list[Outbound]:
    """The SE and SC hear at once that a date we gave falls after the customer's deadline."""
    t, d = c.t, s.directory
    if not c.after_deadline:
        return []
    assert t.deadline_at is not None
    return [
        s.composer.build(
            MailKind.NOTE,
            Template.NOTE,
            t,
            Envelope(to=(t.se,), cc=(t.sc,) if t.sc else ()),
            {
                "author": "the gateway",
                "note": f"{w.message.from_address} needs {t.key} by"
                f" {s.staff_when(t.deadline_at)} (\u201c{t.deadline_said}\u201d), and we told"
                " them "
                + " and ".join(words for _, words in c.after_deadline)
                + f". {d.name_of(t.se)}: agree what is possible with them (#eta resolve <when>"
                " sets a resolution date), or say why not.",
            },
            subject=staff_subject(t, "After the customer's deadline", w.message.subject),
        )
    ]


def capacity_alert(s: Services, w: Work, c: Composing) -> list[Outbound]:
    """The leads hear at once that nobody could keep the policy's reply date."""
    check = w.later
    if not c.leads or check is None:
        return []
    return [
        s.composer.build(
            MailKind.CAPACITY_ALERT,
            Template.CAPACITY_ALERT,
            c.t,
            Envelope(to=c.leads, reply_to=relay_for(s, c.t)),
            {
                **c.common,
                "policy_words": s.when(check.policy_due, c.t),
                "estimates": [e.why for e in check.looked_at],
            },
            subject=staff_subject(c.t, "Later reply date", w.message.subject),
        )
    ]


def after_deadline(s: Services, w: Work, t: Ticket) -> list[tuple[DateKind, str]]:
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


# What one outside sender's mail makes for our own people.
_STAFF_MAIL = frozenset({MailKind.SE_COPY, MailKind.NOTE, MailKind.CAPACITY_ALERT})


def cap_staff_mail(s: Services, w: Work, db: Db, t: Ticket) -> None:
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
    leads = tuple(a for a in (leads_in(s, w) or [s.config.routing.escalation]) if a)
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


def leads_in(s: Services, w: Work) -> list[str]:
    d, today = s.directory, s.calendar.local_date(w.now)
    return [
        p.address for p in s.config.people if p.role is Role.LEAD and d.available(p.address, today)
    ]


def concern_told(s: Services, w: Work, t: Ticket) -> str:
    """Who the acknowledgement may say knows of the customer's concern (see _at_risk_alert)."""
    if not w.concern:
        return ""
    return "sc" if t.sc else "lead" if leads_in(s, w) else ""


def at_risk_recipients(s: Services, w: Work, t: Ticket) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*((t.sc,) if t.sc else ()), *leads_in(s, w)])) or (t.se,)


def leads(s: Services, w: Work) -> tuple[str, ...]:
    """Who hears at once that nobody could keep the policy's reply date: the team's leads who
    are in, else the escalation contact (nobody when the date could be kept)."""
    if w.later is None:
        return ()
    escalation = s.config.routing.escalation
    return tuple(leads_in(s, w)) or ((escalation,) if escalation else ())


def capacity_note(s: Services, w: Work, told: tuple[str, ...]) -> str:
    """For the SE copy: why the customer was given a later reply date than the policy's."""
    check = w.later
    if check is None:
        return ""
    who = "the lead is alerted" if told else "nobody else is told (no lead is in)"
    return (
        f"later than the policy's {s.staff_when(check.policy_due)}, which nobody in could likely"
        f" keep ({check.chosen.why}); {who}"
    )
