"""The pipeline's dedupe step (see gateway/pipeline.py for the whole story)."""

from __future__ import annotations

from gateway.models import Action
from gateway.store import Db, inbox
from gateway.work import Done, Services, Work


def step_dedupe(s: Services, w: Work, db: Db) -> None:
    if inbox.already_processed(db, w.message.message_id, w.row.id):
        raise Done(Action.DUPLICATE, f"{w.message.message_id} was already processed")
