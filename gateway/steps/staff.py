"""The pipeline's staff step (see gateway/pipeline/order.py for the whole story): one of our
people writing in a ticket's thread directly (not through the relay).

Mail to the customer is the response we promised. It counts only when it went to the customer
and, with trusted servers configured, its From is authenticated; otherwise it is recorded as
unverified, meets nothing, and the escalation contact is told (a forged "engineer" must not
silence our dates). An SE meets the ticket's dates; an SC the requests they own (all of the
ticket's dates when it is theirs). Mail that reached the customer without the account's SC is
memorialised: the SC gets a copy, and the writer is told, once, how to keep the SC in. An SC
writing to us only (not the customer) is recorded on the ticket."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.commands import TABLE
from gateway.core.models import Action, MailKind, Outbound, Periodic, Ticket
from gateway.mail.mime import Envelope, staff_subject
from gateway.mail.staff_reply import parse_reply
from gateway.mail.templating import Template
from gateway.pipeline.acting import relay_for, security_alert, send, sender_verdict
from gateway.pipeline.work import Done, Services, Work
from gateway.promise import ledger
from gateway.store import Db, sends, tickets


def step_staff(s: Services, w: Work, db: Db) -> None:
    msg = w.message
    sender = msg.from_address
    if w.ticket is None or not s.directory.is_staff(sender):
        return
    t = w.ticket
    tickets.add_message_id(db, msg.message_id, t.id, "in")
    recipients = {a.lower() for a in (*msg.to, *msg.cc)}
    owner = sender.lower() == t.se.lower()
    se = s.directory.is_se(sender)
    name = s.directory.name_of(sender)
    if not se and t.customer_address.lower() not in recipients:
        raise Done(Action.ATTACH, f"{name} (SC) wrote on {t.key}")
    verdict = sender_verdict(s, msg, w)
    problem = ""
    if verdict is not None and not verdict.authenticated:
        problem = f"not authenticated: {verdict.reason}"
    elif t.customer_address.lower() not in recipients:
        problem = f"not sent to the customer ({t.customer_address})"
    if problem:
        what = f"Unverified mail from {name} met no date"
        security_alert(s, w, db, t, problem, what)
        raise Done(
            Action.ATTACH, f"unverified mail from {sender} on {t.key}: {problem}; no date met"
        )
    # An SE (or the ticket's owner) answers the ticket; an SC beside them, their own requests.
    met = ledger.responded(db, t, w.now) if se or owner else ledger.meet_owned(db, t, sender, w.now)
    said = f"{name} replied on {t.key}; {met} commitment(s) met"
    if t.sc and t.sc.lower() not in recipients and t.sc.lower() != sender.lower():
        send(s, w, db, t, _memorialised(s, w, db, t, sender, met))
        said += f"; {s.directory.name_of(t.sc)} (SC) was left out: sent a copy"
    raise Done(Action.ENGINEER_REPLY, said)


def _memorialised(s: Services, w: Work, db: Db, t: Ticket, writer: str, met: int) -> list[Outbound]:
    """The SC's copy of a mail to the customer that left them out; the writer's hint, once."""
    msg, d = w.message, s.directory
    words = parse_reply(msg.text, msg.html, TABLE).text or msg.text
    copy = s.composer.build(
        MailKind.SC_COPY,
        Template.SC_COPY,
        t,
        Envelope(to=(t.sc,), reply_to=relay_for(s, t)),
        {
            "writer_name": d.name_of(writer),
            "customer": t.customer_address,
            "sent_to": [*msg.to, *msg.cc],
            "sent_words": s.staff_when(w.row.received_at),
            "mail_subject": msg.subject,
            "text": words,
            "met": met,
        },
        subject=staff_subject(t, "Copy", msg.subject),
    )
    mails = [copy]
    if sends.claim(
        db, Periodic.KEEP_SC_HINT, writer, w.now, since=datetime.min.replace(tzinfo=UTC)
    ):
        hint = (
            f"Your mail to {t.customer_address} on {t.key} is recorded on the ticket"
            + (f" ({met} of its dates met)" if met else "")
            + f". {d.name_of(t.sc)}, the account's SC, was not in CC, so the gateway sent them"
            " a copy. To keep the SC in without thinking of it, answer by replying to the"
            f" ticket's copy (its Reply-To, {relay_for(s, t)}): the customer gets your words with"
            f" the SC in CC. Or put {t.sc} in CC yourself. (You are told this once.)"
        )
        mails.append(
            s.composer.build(
                MailKind.NOTE,
                Template.NOTE,
                t,
                Envelope(to=(writer,), reply_to=relay_for(s, t)),
                {"author": "the gateway", "note": hint},
                subject=staff_subject(t, "Keep the SC in", t.subject),
            )
        )
    return mails
