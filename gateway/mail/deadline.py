"""A deadline the customer states: "before our launch on 12 December", "we need it by Friday",
"bis Freitag", "antes del 12 de diciembre".

A deadline is a cue (by, before, until, no later than, deadline; bis, spätestens; antes de,
para el) followed closely by a day: a weekday, tomorrow, the end of the week or month, or a
date that python-dateutil reads ("12 December", "December 12th", "2026-12-12"; never "4.2"
or "12/12", a version or a day either way round). It is the end of that day's business hours
in the team's zone, and only a day still to come within a year counts. Pure logic: no
servers, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser

_WEEKDAYS = {
    **dict.fromkeys(("monday", "montag", "lunes"), 0),
    **dict.fromkeys(("tuesday", "dienstag", "martes"), 1),
    **dict.fromkeys(("wednesday", "mittwoch", "miércoles", "miercoles"), 2),
    **dict.fromkeys(("thursday", "donnerstag", "jueves"), 3),
    **dict.fromkeys(("friday", "freitag", "viernes"), 4),
    **dict.fromkeys(("saturday", "samstag", "sábado", "sabado"), 5),
    **dict.fromkeys(("sunday", "sonntag", "domingo"), 6),
}
_MONTHS_DE_ES = {
    "januar": "january", "februar": "february", "märz": "march", "mai": "may", "juni": "june",
    "juli": "july", "oktober": "october", "dezember": "december", "enero": "january",
    "febrero": "february", "marzo": "march", "abril": "april", "mayo": "may", "junio": "june",
    "julio": "july", "agosto": "august", "septiembre": "september", "octubre": "october",
    "noviembre": "november", "diciembre": "december",
}  # fmt: skip
_CUE = (
    r"\b(?:by|before|until|till|no later than|not later than|at the latest by|deadline(?: is)?"
    r"|due(?: date)?(?: is)?|bis(?: spätestens| zum| zur)?|spätestens(?: am| bis)?|vor dem"
    r"|antes del?|para el|a más tardar el|hasta el)\b"
)
_DAY = (
    r"(?:(?:next|this|coming|nächsten|kommenden|el próximo|próximo)\s+)?"
    r"(?:" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")"
    r"|tomorrow|morgen|mañana"
    r"|(?:the\s+)?end of (?:the |this |next )?(?:week|month)"
    r"|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}(?:st|nd|rd|th)?\.?(?:\s+(?:de\s+)?)?[A-Za-zäéíóú]{3,10}\.?(?:\s+(?:de\s+)?\d{4})?"
    r"|[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?"
)  # never 4.2 or 12/12: a version, and a day either way round
# The cue, then at most four words ("our launch on"), then the day.
_DEADLINE = re.compile(
    _CUE + r"(?:\s+[\w'’-]+){0,4}?\s+(?:on\s+|am\s+|el\s+|the\s+)?(?P<day>" + _DAY + r")\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Deadline:
    at: datetime  # the end of that day's business hours, in the team's zone
    sentence: str  # the customer's words that state it


def stated(text: str, received: datetime, zone: ZoneInfo, day_ends: time) -> Deadline | None:
    """The first deadline ``text`` states (None when it states none we can read)."""
    today = received.astimezone(zone).date()
    for m in _DEADLINE.finditer(text[:20_000]):
        day = _day(m.group("day"), today)
        if day is not None and today <= day <= today + timedelta(days=366):
            at = datetime.combine(day, day_ends, zone)
            if at > received:
                return Deadline(at, _sentence(text, m.start(), m.end()))
    return None


def _day(words: str, today: date) -> date | None:
    said = " ".join(words.lower().split())
    last = said.split()[-1]
    if last in _WEEKDAYS:
        # The coming one: "next Friday" may mean either, and the earlier is the one to keep.
        return today + timedelta(days=(_WEEKDAYS[last] - today.weekday()) % 7 or 7)
    if said in ("tomorrow", "morgen", "mañana"):
        return today + timedelta(days=1)
    if "end of" in said:
        if said.endswith("month"):
            first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
            return first_next - timedelta(days=1)
        friday = today + timedelta(days=(4 - today.weekday()) % 7)
        return friday + timedelta(days=7) if "next" in said else friday
    for german_or_spanish, english in _MONTHS_DE_ES.items():
        said = re.sub(rf"\b{german_or_spanish}\b", english, said)
    said = re.sub(r"\bde\b", " ", said)
    try:
        parsed = dateparser.parse(said, default=datetime(today.year, today.month, today.day))
    except (ValueError, OverflowError):
        return None
    day = parsed.date()
    if day < today and not re.search(r"\d{4}", said):  # "12 January" said in December
        day = day.replace(year=day.year + 1)
    return day


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence around the match, on one line, at most 200 characters."""
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
    right = min(rights) + 1 if rights else len(text)
    sentence = " ".join(text[left:right].split())
    return sentence if len(sentence) <= 200 else sentence[:199].rstrip() + "\u2026"
