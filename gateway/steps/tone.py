"""The pipeline's tone step (see gateway/pipeline/order.py for the whole story): urgency in the
customer's words, a concern about us (see gateway/mail/tone.py) and a deadline they state (see
gateway/mail/deadline.py), read from what they wrote this time; the ticket step applies them."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from gateway.mail import deadline, points, tone
from gateway.pipeline.work import Services, Work
from gateway.store import Db


def step_tone(s: Services, w: Work, db: Db) -> None:
    msg = w.message
    said = points.new_text(msg.text, msg.html)
    if s.config.sla.urgency != "off":
        w.urgent = tone.urgency(msg.subject, said)
        if w.urgent:
            w.decide("tone:urgent", s.config.sla.urgency, w.urgent)
    w.concern = tone.concern(said)
    if w.concern:
        w.decide("tone:at-risk", "yes", w.concern)
    hours = s.config.hours
    day_ends = max((span[1] for day in hours.weekly() for span in day), default=time(17))
    w.deadline = deadline.stated(said, w.row.received_at, ZoneInfo(hours.timezone), day_ends)
    if w.deadline:
        w.decide("tone:deadline", w.deadline.at.isoformat(), w.deadline.sentence)
