"""The pipeline's ticket step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from gateway.core.models import TicketState
from gateway.mail import points
from gateway.pipeline.work import Services, Work
from gateway.promise import ledger
from gateway.store import Db, tickets


def step_ticket(s: Services, w: Work, db: Db) -> None:
    assert w.route is not None
    if w.ticket is not None:
        msg = w.message
        if w.ticket.state is TicketState.RESOLVED:
            if points.is_courtesy(msg.text, msg.html):
                w.decide("ticket", w.ticket.key, "a courtesy on a resolved ticket: not reopened")
            else:
                tickets.reopen(db, w.ticket.id)
                w.reopened = True
                w.decide("ticket", w.ticket.key, "reopened: the customer wrote again")
        if w.ticket.state is TicketState.WAITING:
            moved = ledger.resume(
                db, w.ticket, w.now, s.calendar, lambda t: s.when(t, w.the_ticket)
            )
            w.decide(
                "ticket", w.ticket.key, f"customer replied: clocks resume, {moved} date(s) moved"
            )
            w.resumed = moved > 0
        w.ticket = tickets.customer_follow_up(db, w.ticket, w.message)
        _keep_forward_id(w, db)
        _tone(s, w, db)
        return
    sup = s.config.support
    w.ticket = tickets.create(
        db,
        w.message,
        w.route,
        w.row.received_at,
        w.now,
        sup.ticket_prefix,
        sup.first_ticket_number,
        w.language,
    )
    w.new_ticket = True
    _keep_forward_id(w, db)
    w.decide("ticket", w.ticket.key, "opened")
    _tone(s, w, db)


def _tone(s: Services, w: Work, db: Db) -> None:
    """Urgency in the customer's words makes the ticket urgent (``sla.urgency = "apply"``); a
    concern about us marks it at risk; a deadline they state is kept (the earliest). All are
    kept on the ticket, read again here."""
    t = w.the_ticket
    if w.urgent and s.config.sla.urgency == "apply" and t.priority != "urgent":
        tickets.set_priority(db, t.id, "urgent")
    if w.concern and not t.at_risk:
        tickets.mark_at_risk(db, t.id, w.concern)
    if w.deadline:
        tickets.set_deadline(db, t.id, w.deadline.at, w.deadline.sentence)
    if (w.urgent and s.config.sla.urgency == "apply") or w.concern or w.deadline:
        w.ticket = tickets.get(db, t.id)


def _keep_forward_id(w: Work, db: Db) -> None:
    """A forward's own Message-ID threads too (the forwarder may reply to it)."""
    if w.forward is not None:
        tickets.add_message_id(db, w.forward.message_id, w.the_ticket.id, "in")
