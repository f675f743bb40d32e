"""The pipeline's classify step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from gateway import rules
from gateway.pipeline.work import Services, Work
from gateway.rules import spam_verdict
from gateway.store import Db


def step_classify(s: Services, w: Work, db: Db) -> None:
    """Decide the class only; the automated step acts on it once the thread is known."""
    skip = frozenset({spam_verdict.NAME}) if w.row.spam_released else frozenset()
    w.mail_class, results = rules.classify(w.message, s.ours, skip)
    for r in results:
        w.decide(f"rule:{r.rule}", r.verdict, r.reason)
