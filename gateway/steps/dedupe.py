"""The pipeline's dedupe step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from gateway.core.models import Action
from gateway.pipeline.work import Done, Services, Work
from gateway.store import Db, inbox


def step_dedupe(s: Services, w: Work, db: Db) -> None:
    if inbox.already_processed(db, w.message.message_id, w.row.id):
        raise Done(Action.DUPLICATE, f"{w.message.message_id} was already processed")
