"""Dates in words, as customers read them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from gateway.store.commitments import Commitment


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h:02d}:{m:02d}"


def when(t: datetime, tz: ZoneInfo, customer_offset_minutes: int | None = None) -> str:
    """'Tuesday 24 November, 10:15 EST', plus the customer's time when their offset differs."""
    local = t.astimezone(tz)
    text = f"{local:%A} {local.day} {local:%B}, {local:%H:%M} {local.tzname()}"
    if customer_offset_minutes is None:
        return text
    local_offset = local.utcoffset()
    if local_offset is not None and local_offset == timedelta(minutes=customer_offset_minutes):
        return text
    theirs = t.astimezone(timezone(timedelta(minutes=customer_offset_minutes)))
    day = "" if theirs.date() == local.date() else f"{theirs:%A} {theirs.day} {theirs:%B}, "
    return f"{text} ({day}{theirs:%H:%M} your time, {_offset(customer_offset_minutes)})"


# What each kind of commitment promises, in the customer's words.
KIND_WORDS = {
    "actionable": "a reply",
    "update": "an update",
    "resolution": "a resolution",
    "point": "an answer to a point",
}


def dates_owed(owed: Sequence[Commitment]) -> list[dict[str, str]]:
    """What the customer is owed, one line per date they were told, e.g. ``{"words": "Tuesday
    24 November, 10:00 EST", "what": "an answer to “Why E42?” and “Is 4.2 affected?”"}``
    (points name themselves; a reply that only carries points is said by them). The policy's
    resolution target, never promised, comes last with ``"target": "yes"``."""
    points: dict[str, list[str]] = {}
    kinds: dict[str, list[str]] = {}
    targets: list[str] = []
    for c in owed:
        if c.kind == "resolution" and not c.promised:
            targets.append(c.told)
        elif c.kind == "point":
            points.setdefault(c.told, []).append(f"\u201c{c.point}\u201d")
            kinds.setdefault(c.told, [])
        elif KIND_WORDS.get(c.kind, c.kind) not in kinds.setdefault(c.told, []):
            kinds[c.told].append(KIND_WORDS.get(c.kind, c.kind))
    out = []
    for told, said in kinds.items():
        if told in points:  # the reply those points are part of is said by them
            said = [w for w in said if w != KIND_WORDS["actionable"]]
            said.insert(0, "an answer to " + _and(points[told]))
        out.append({"words": told, "what": _and(said), "target": ""})
    out += [{"words": told, "what": "", "target": "yes"} for told in targets[:1]]
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
