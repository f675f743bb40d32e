"""Dates and what they are for, in words, as customers read them (English text that the
composer can say again in the customer's language: see :mod:`gateway.text.speech`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from gateway.core.models import DateKind
from gateway.text.speech import Kind, Owed, When

if TYPE_CHECKING:
    from gateway.store.commitments import Commitment


def when(t: datetime, tz: ZoneInfo, customer_offset_minutes: int | None = None) -> When:
    """'Tuesday 24 November, 10:15 EST', plus the customer's time when their offset differs."""
    return When(t, tz, customer_offset_minutes)


# What each kind of commitment promises, in the customer's words (English).


def dates_owed(
    owed: Sequence[Commitment], say: Callable[[datetime], str] | None = None
) -> list[dict[str, str]]:
    """What the customer is owed, one line per date they were told, e.g. ``{"words": "Tuesday
    24 November, 10:00 EST", "what": "an answer to “Why E42?” and “Is 4.2 affected?”"}``
    (points name themselves; a reply that only carries points is said by them). The policy's
    resolution target, never promised, comes last with ``"target": "yes"``. ``say`` writes a
    date (by default, the words it was told in)."""
    points: dict[str, list[str]] = {}
    kinds: dict[str, list[str]] = {}
    dates: dict[str, str] = {}
    targets: list[str] = []
    for c in owed:
        dates.setdefault(c.told, say(c.due_at) if say else c.told)
        if c.kind == DateKind.RESOLUTION and not c.promised:
            targets.append(c.told)
            continue
        kinds.setdefault(c.told, [])
        if c.kind == DateKind.POINT:
            points.setdefault(c.told, []).append(c.point)
        elif c.kind not in kinds[c.told]:
            kinds[c.told].append(c.kind)
    out = [
        {"words": dates[told], "what": Owed(said, points.get(told, ())), "target": ""}
        for told, said in kinds.items()
    ]
    out += [{"words": dates[told], "what": "", "target": "yes"} for told in targets[:1]]
    return out


def kind_words(kind: str, point: str = "") -> Kind:
    """'a reply'; for a point, 'an answer to “<the point>”'."""
    return Kind(kind, point)
