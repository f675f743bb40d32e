"""The pipeline step for mail the classification chain caught: never answered, never dropped.

- A bounce proves itself: it quotes the Message-ID of a mail we sent, and only the addresses that
  mail went to can be marked failed (:func:`proven_failures`). Each failed address gets no more
  mail for ``safety.undeliverable_days``, and the ticket's SC
  (with the SE) is told, unless the failed address is one of ours (telling staff about a staff
  bounce could bounce again).
- An auto-reply from the ticket's own customer in a known thread (an out-of-office, say) goes to
  the SE as an internal note.
- Everything else is recorded and suppressed.
The robot that sent the mail never hears from us.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes

from gateway.core.models import Action, MailClass, MailKind, Ticket
from gateway.mail.mime import Envelope, staff_subject
from gateway.mail.staff_reply import find_relay
from gateway.mail.templating import Template
from gateway.pipeline.work import Done, Services, Work
from gateway.promise import ledger
from gateway.store import Db, outbox, participants, tickets

_ID_LINE = re.compile(r"^(?:original-)?message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_DIAGNOSTIC = re.compile(r"^(?:diagnostic-code|status):\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def bounce_facts(raw: bytes) -> tuple[list[str], list[str], str]:
    """(original Message-IDs, failed addresses, diagnostic) read from a bounce's bytes.

    The failed addresses come from flufl.bounce (GNU Mailman's bounce detectors: RFC 3464 and
    the formats of Exim, qmail, sendmail, Postfix, Exchange, Yahoo and many more). Measured on
    tests/data/corpus it finds the addresses of 5 of the 6 bounce samples, the hand-written
    patterns it replaced 4 (see README "What the daemon does with each kind of mail").
    """
    text = raw.decode("utf-8", "replace")
    ids = list(dict.fromkeys(_ID_LINE.findall(text)))
    from flufl.bounce import scan_message  # 145 patterns: compiled when a bounce comes

    try:
        found = scan_message(message_from_bytes(raw))
    except Exception:  # a detector tripping over a hostile bounce: no address, nothing marked
        found = frozenset()
    failed = sorted({a.decode("ascii", "replace").lower() for a in found})
    diagnostic = "; ".join(d.strip() for d in _DIAGNOSTIC.findall(text))[:200]
    return ids, [a for a in failed if "@" in a], diagnostic


def proven_failures(
    s: Services, db: Db, ids: tuple[str, ...], named: list[str]
) -> tuple[list[str], Ticket | None]:
    """The addresses a bounce proves undeliverable, and their ticket: only those it names that
    a mail of ours with a Message-ID it quotes was sent to; never our own people, our own
    addresses nor a relay address (a bounce must not be able to silence us)."""
    sent = outbox.sent_to(db, ids)
    recipients = {a for _, rcpt in sent for a in rcpt}
    ours = {s.config.support.address.lower()}
    failed = [
        a
        for a in named
        if a in recipients
        and a not in ours
        and not s.directory.is_staff(a)
        and find_relay((a,), s.config.support.address) is None
    ]
    ticket_ids = [t for t, rcpt in sent if t is not None and set(rcpt) & set(failed)]
    return failed, (tickets.get(db, ticket_ids[0]) if ticket_ids else None)


def step_automated(s: Services, w: Work, db: Db) -> None:
    """Mail the classification chain caught ends here, as :data:`HANDLING` says for its class."""
    if w.mail_class is None or w.mail_class is MailClass.HUMAN:
        return
    fired = [d for d in w.decisions if d[0].startswith("rule:") and d[1] != "pass"]
    why = f"{w.mail_class}: {fired[-1][2]} (rule {fired[-1][0][5:]})" if fired else w.mail_class
    HANDLING[w.mail_class](s, w, db, why)
    raise Done(Action.SUPPRESS, why)  # what a handler did not end is recorded and suppressed


def _spam(s: Services, w: Work, db: Db, why: str) -> None:
    raise Done(Action.SPAM, why)  # no acknowledgement, no SE copy: kept for an operator


def _suppressed(s: Services, w: Work, db: Db, why: str) -> None:
    pass


def _auto_reply(s: Services, w: Work, db: Db, why: str) -> None:
    """An out-of-office of one of the ticket's people is news for the SE (a note, never a mail
    to anyone else: one participant's robot never writes to another)."""
    msg, ticket = w.message, w.ticket
    if ticket is None or not participants.includes(db, ticket.id, msg.from_address):
        return
    note = s.composer.build(
        MailKind.NOTE,
        Template.NOTE,
        ticket,
        Envelope(to=(ticket.se,)),
        {
            "author": f"an automatic reply from {msg.from_address}",
            "note": f"{msg.subject}\n\n{(msg.text or msg.html).strip()[:2000]}",
        },
        subject=staff_subject(ticket, f"Automatic reply from {msg.from_address}", msg.subject),
    )
    tickets.add_message_id(db, msg.message_id, ticket.id, "in")
    ledger.queue_mail(db, ticket, [note], w.now)
    w.outgoing.append(note)
    raise Done(Action.ATTACH, f"{why}; attached to {ticket.key} as a note for the SE")


def _bounce(s: Services, w: Work, db: Db, why: str) -> None:
    ids, named, diagnostic = bounce_facts(w.row.raw)
    failed, ticket = proven_failures(s, db, tuple(ids), named)
    if ticket is None or not failed:
        # Not a bounce of our mail to the addresses it names: anyone can write a "bounce" that
        # names a customer's Message-ID or our people (suppressed and recorded, blocks nobody).
        w.decide("bounce", "unproven", f"names {', '.join(named) or 'no address'}; proves none")
        return
    until = w.now + timedelta(days=s.config.safety.undeliverable_days)
    reason = diagnostic or "bounced"
    for address in failed:
        outbox.mark_undeliverable(db, address, until, reason, ticket.id)
    w.ticket = ticket
    customers = [a for a in failed if not s.directory.is_staff(a)]
    mails = []
    if customers:
        to = ticket.sc or ticket.se
        mails.append(
            s.composer.build(
                MailKind.BOUNCE_ALERT,
                Template.BOUNCE_ALERT,
                ticket,
                Envelope(to=(to,), cc=() if to == ticket.se else (ticket.se,)),
                {"failed": customers, "diagnostic": reason, "until_words": s.when(until, ticket)},
                subject=f"[{ticket.key}] Mail to the customer bounced",
            )
        )
        ledger.queue_mail(db, ticket, mails, w.now)
        w.outgoing.extend(mails)
    raise Done(
        Action.ATTACH,
        f"{why}; bounce of {ticket.key} mail to {', '.join(failed)}: no mail to it until "
        f"{until.date().isoformat()}" + ("; SC told" if mails else ""),
    )


# What happens to each class of robots' mail (people's mail goes on; malformed mail never gets
# here, the parse step quarantines it). A handler ends the journey or returns: suppressed.
Handler = Callable[[Services, Work, Db, str], None]
HANDLING: dict[MailClass, Handler] = {
    MailClass.SPAM: _spam,
    MailClass.BOUNCE: _bounce,
    MailClass.AUTO_REPLY: _auto_reply,
    MailClass.AUTOMATED: _suppressed,
    MailClass.LIST: _suppressed,
    MailClass.RECEIPT: _suppressed,
    MailClass.OWN: _suppressed,
}
