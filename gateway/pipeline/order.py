"""What happens to one inbound message, in order.

``PIPELINE`` below is the whole story; each step does one thing and either lets the message go on
or ends its journey with :class:`Done` (an action and a reason, both recorded). The processor runs
every step for one message inside one database transaction, so either all of a message's effects
(ticket, commitments, outbox rows, decisions) are stored, or none are.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.pipeline.work import Done, Services, Work
from gateway.steps.automated import step_automated
from gateway.steps.capacity import step_capacity
from gateway.steps.classify import step_classify
from gateway.steps.compose import step_compose
from gateway.steps.dates import step_dates
from gateway.steps.dedupe import step_dedupe
from gateway.steps.forward import step_forward
from gateway.steps.language import step_language
from gateway.steps.parse import step_parse
from gateway.steps.participants import step_participants
from gateway.steps.plan import step_plan
from gateway.steps.relay import step_relay
from gateway.steps.requests import step_requests
from gateway.steps.route import step_route
from gateway.steps.staff import step_staff
from gateway.steps.thread import step_thread
from gateway.steps.ticket import step_ticket
from gateway.steps.tone import step_tone
from gateway.store import Db

__all__ = ["PIPELINE", "run_pipeline"]


# A step is a plain function: it decides, and records through the transaction it is given.
Step = Callable[[Services, Work, Db], None]


PIPELINE: tuple[tuple[str, Step], ...] = (
    ("parse", step_parse),
    ("classify", step_classify),
    ("dedupe", step_dedupe),
    ("thread", step_thread),
    ("automated", step_automated),  # robots end here: recorded, never answered
    ("relay", step_relay),
    ("staff", step_staff),
    ("forward", step_forward),  # our own people passing on a customer's mail
    ("route", step_route),
    ("language", step_language),  # a new ticket's: the customer's (account, or their mail's)
    ("requests", step_requests),  # points the SC owns: a quote, an invoice (the SC's dates)
    ("tone", step_tone),  # urgency in their words, a concern about us
    ("dates", step_dates),  # the policy's dates for this mail, once
    ("capacity", step_capacity),  # can the SE keep the reply date? else who can, or when
    ("ticket", step_ticket),
    ("participants", step_participants),
    ("plan", step_plan),
    ("compose", step_compose),
)


def run_pipeline(s: Services, w: Work, db: Db) -> Done:
    """Run every step; return how the message's journey ended."""
    clock, stages = time.thread_time, s.stages
    started = clock()
    for name, step in PIPELINE:
        try:
            step(s, w, db)
        except Done as done:
            return done
        finally:
            ended = clock()
            stages.add(name, ended - started)
            started = ended
    raise AssertionError("the compose step always ends the journey")
