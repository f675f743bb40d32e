"""The pipeline's staff step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from gateway.core.models import Action
from gateway.pipeline.acting import security_alert, sender_verdict
from gateway.pipeline.work import Done, Services, Work
from gateway.promise import ledger
from gateway.store import Db, tickets


def step_staff(s: Services, w: Work, db: Db) -> None:
    """Our own engineer writing in a ticket's thread, to the customer: that is the response we
    promised. It counts only when it went to the customer and, with trusted servers configured,
    its From is authenticated; otherwise it is recorded as unverified, meets nothing, and the
    escalation contact is told (a forged "engineer" must not silence our dates). An SC writing in
    the thread is recorded, but is not the engineer's answer."""
    msg = w.message
    sender = msg.from_address
    if w.ticket is None or not s.directory.is_staff(sender):
        return
    tickets.add_message_id(db, msg.message_id, w.ticket.id, "in")
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
        security_alert(s, w, db, w.ticket, problem, what)
        raise Done(
            Action.ATTACH,
            f"unverified mail from {sender} on {w.ticket.key}: {problem}; no date met",
        )
    met = ledger.responded(db, w.ticket, w.now)
    raise Done(
        Action.ENGINEER_REPLY,
        f"{s.directory.name_of(sender)} replied on {w.ticket.key}; {met} commitment(s) met",
    )
