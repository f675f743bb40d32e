"""Requests the account's SC owns (a quote, pricing, a licence, an invoice, a contract): which of
the customer's points ask for one, by the words ``[[requests]]`` lists per language (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from gateway.core.config import RequestKind
from gateway.text.details import reports_a_fault


@lru_cache(maxsize=64)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words (a phrase's spaces match any run of spaces); case-insensitive, any language.
    alternatives = sorted((r"\s+".join(map(re.escape, w.split())) for w in words), key=len)
    return re.compile(rf"(?<!\w)(?:{'|'.join(reversed(alternatives))})(?!\w)", re.IGNORECASE)


def kind_of(point: str, kinds: Sequence[RequestKind]) -> str:
    """The first request kind whose words ``point`` uses ('' for none): every language's
    words count (a customer may write "Angebot" in an English mail). A point that reports a
    fault is the engineer's whatever it names ("the licence check fails", "el pago falla")."""
    if reports_a_fault(point):
        return ""
    for kind in kinds:
        words = tuple(w for ws in kind.words.values() for w in ws)
        if words and _pattern(words).search(point):
            return kind.name
    return ""


def owned(points: Sequence[str], kinds: Sequence[RequestKind]) -> list[tuple[str, str]]:
    """(point, kind) for each of ``points`` that is a request the SC owns, in their order."""
    return [(p, kind) for p in points if (kind := kind_of(p, kinds))]
