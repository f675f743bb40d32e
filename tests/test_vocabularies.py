"""Named vocabularies: every map over a kind names each member, every rule's verdict is a class
of mail, and every state or kind the store's SQL spells is one the code knows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from gateway import rules
from gateway.cli.explain import PUBLIC_ACTION
from gateway.core.models import (
    Action,
    DateKind,
    InboxState,
    MailClass,
    MailKind,
    OutboxState,
    TicketState,
)
from gateway.daemon.metrics import _FIRST_SERIES
from gateway.daemon.scheduler.dead_letters import DEAD_WORDS
from gateway.pipeline.handover import IN_WORDS, OUT_WORDS
from gateway.promise.ledger import CUSTOMER_KINDS
from gateway.steps.automated import HANDLING
from gateway.store import story
from gateway.web.routes import DATE_KIND_WORDS

ROOT = Path(__file__).resolve().parent.parent


def test_every_outcome_has_its_word_for_operators() -> None:
    assert set(PUBLIC_ACTION) == set(Action)


def test_every_class_of_mail_has_its_metric_series_and_every_outcome_one_class() -> None:
    assert set(_FIRST_SERIES) == set(MailClass)
    pipeline_outcomes = set(Action) - {Action.RELEASED}  # an operator's verdict, not the pipeline's
    assert {a for actions in _FIRST_SERIES.values() for a in actions} == pipeline_outcomes


def test_every_robots_class_has_its_handling() -> None:
    # People's mail goes on through the pipeline; malformed mail is quarantined by the parse step.
    assert set(HANDLING) == set(MailClass) - {MailClass.HUMAN, MailClass.MALFORMED}


def test_every_rule_names_a_class_and_every_robots_class_has_a_rule() -> None:
    verdicts = {rule.VERDICT for rule in rules.CHAIN}
    assert all(isinstance(v, MailClass) for v in verdicts)
    assert verdicts == set(MailClass) - {MailClass.HUMAN, MailClass.MALFORMED}


def test_every_date_kind_has_its_words_in_every_language_and_the_web_view() -> None:
    assert set(DATE_KIND_WORDS) == set(DateKind)
    for words in ROOT.glob("templates/**/words.toml"):
        kinds = tomllib.loads(words.read_text())["kinds"]
        assert set(DateKind) <= set(kinds), words


def test_every_customer_mail_the_relay_refuses_is_named_in_the_alert() -> None:
    assert set(DEAD_WORDS) == CUSTOMER_KINDS


def test_the_handover_names_every_kind_the_story_tells() -> None:
    assert set(IN_WORDS) == set(story._IN)
    assert set(OUT_WORDS) == story.STORY_KINDS


def _sql_literals(column: str) -> set[str]:
    """Every value the store's SQL compares ``column`` with, in both engines' code."""
    found: set[str] = set()
    pattern = re.compile(
        rf"\b{column}\s*(?:=|!=|<>|(?:NOT\s+)?IN)\s*\(?((?:'[\w-]+'(?:,\s*)?)+)\)?", re.IGNORECASE
    )
    store = ROOT / "gateway" / "store"
    for path in [*store.glob("*.py"), *store.glob("schema/*/*.sql")]:
        for values in pattern.findall(path.read_text()):
            found |= set(re.findall(r"'([\w-]+)'", values))
    return found


def test_every_state_and_kind_in_the_stores_sql_is_a_named_one() -> None:
    states = {*InboxState, *OutboxState, *TicketState}
    assert _sql_literals("state") and _sql_literals("state") <= states, (
        _sql_literals("state") - states
    )
    kinds = {*DateKind, *MailKind}
    assert _sql_literals("kind") <= kinds, _sql_literals("kind") - kinds
    assert _sql_literals("action") <= set(Action), _sql_literals("action") - set(Action)
