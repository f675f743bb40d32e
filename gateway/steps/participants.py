"""The pipeline's participants step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from gateway.core.models import InboundMessage
from gateway.mail import senderauth
from gateway.pipeline.work import Services, Work
from gateway.store import Db, participants


def step_participants(s: Services, w: Work, db: Db) -> None:
    """The writer and the customer-side people their mail copied join the ticket's people: never
    our own or staff addresses, never another account's people; at most the configured cap."""
    t, msg = w.the_ticket, w.message
    msg_people = _mailboxes_of(msg)
    account = t.account
    wanted = []
    for name, address in msg_people:
        if s.ours.owns(address) or s.directory.is_staff(address):
            continue
        other, _ = s.directory.account_for(address)
        if other is not None and other.name != account:
            continue  # another customer: never copied on this ticket's mail
        wanted.append((name, address))
    doubt = senderauth.customer_doubt(
        s.config.relay, msg, staff=s.directory.is_staff(msg.from_address)
    )
    writer = [p for p in wanted if p[1] == msg.from_address][:1]
    copied = [p for p in wanted if p not in writer]
    cap = s.config.safety.max_participants
    people = participants.read(db, t.id)
    added = participants.add(db, people, writer, w.now, "mail", cap)
    if doubt and s.config.relay.unauthenticated_cc == "confirm":
        # An unauthenticated mail may be forged: whoever it copies is kept on the ticket, but
        # gets no mail until an SE confirms them (#cc add): never the SE's answer to a stranger.
        w.pending = participants.add(db, people, copied, w.now, "mail", cap, pending=True)
        if w.pending:
            w.decide(
                "participants", f"{len(w.pending)} pending", f"{doubt}: " + ", ".join(w.pending)
            )
    else:
        added += participants.add(db, people, copied, w.now, "mail", cap)
    if added:
        w.decide("participants", f"+{len(added)}", ", ".join(added))
    w.people = people.mailed()


def _mailboxes_of(msg: InboundMessage) -> list[tuple[str, str]]:
    """(name, address) of the writer, then everyone in To and CC."""
    return [(msg.from_name, msg.from_address), *(("", a) for a in (*msg.to, *msg.cc))]
