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

from gateway.core.models import InboundMessage, MailKind, Outbound, Ticket
from gateway.mail import senderauth
from gateway.mail.mime import Envelope
from gateway.mail.staff_reply import relay_address
from gateway.mail.templating import Template
from gateway.pipeline.work import Services, Work
from gateway.promise import ledger
from gateway.store import Db, tickets


def relay_for(s: Services, ticket: Ticket) -> str:
    return relay_address(s.config.support.address, ticket.key, ticket.token)


def sender_verdict(s: Services, msg: InboundMessage, w: Work) -> senderauth.Verdict | None:
    """Whether the From is authenticated (see :mod:`gateway.mail.senderauth`), recorded for
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


def send(s: Services, w: Work, db: Db, t: Ticket, mails: list[Outbound]) -> None:
    tickets.add_message_id(db, w.message.message_id, t.id, "in")
    ledger.queue_mail(db, t, mails, w.now)
    w.outgoing.extend(mails)


def security_alert(s: Services, w: Work, db: Db, ticket: Ticket, problem: str, what: str) -> None:
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
    ledger.queue_mail(db, ticket, [alert], w.now)
    w.outgoing.append(alert)
