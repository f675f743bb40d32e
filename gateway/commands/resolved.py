"""``#resolved``: every open date is met; the SC gets the summary of the case."""

from __future__ import annotations

from gateway.commands.base import Acting, Command
from gateway.core.models import MailKind, Outbound
from gateway.mail import points
from gateway.mail.mime import Envelope, staff_subject
from gateway.mail.templating import Template
from gateway.promise import ledger
from gateway.store import commitments, tickets


def run(a: Acting, arg: str) -> None:
    ledger.resolve(a.db, a.fresh(), a.now)
    t = a.ticket
    if t.sc:
        a.mails.append(_summary(a))
    sc = f"; {a.s.directory.name_of(t.sc)} (SC) has the summary" if t.sc else ""
    a.done.append("resolved" + sc)


def _summary(a: Acting) -> Outbound:
    """For the SC: what was asked, who answered, when, how long, dates missed."""
    s, t, now = a.s, a.ticket, a.now
    facts = tickets.history(a.db, t.id)
    given, missed, target_missed = commitments.date_record(a.db, t.id)
    took = s.calendar.business_time_between(t.received_at, now)
    context = {
        "customer_name": t.customer_name or t.customer_address,
        "question": facts["question"],
        "answered_by": s.directory.name_of(t.se),
        "received_words": s.when(t.received_at, t),
        "responded_words": s.when(facts["responded_at"], t) if facts["responded_at"] else "",
        "resolved_words": s.when(now, t),
        "business_hours": round(took.total_seconds() / 3600, 1),
        "missed": missed,
        "dates_given": given,
        "target_missed": target_missed,
        "asked": _asked(facts["question"], commitments.points_of(a.db, t.id)),
    }
    return s.composer.build(
        MailKind.DONE,
        Template.DONE_SUMMARY,
        t,
        Envelope(to=(t.sc,)),
        context,
        subject=staff_subject(t, "Resolved"),
    )


def _asked(first_mail: str, asked: list[str]) -> list[str]:
    """What the customer raised, as lines: their statement of the problem, then each point."""
    problem = points.stated_problem(first_mail, asked=asked)
    return ([problem] if problem else []) + asked


COMMAND = Command("resolved", "#resolved", run)
