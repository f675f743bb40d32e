"""Dates in words, as customers read them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo


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
