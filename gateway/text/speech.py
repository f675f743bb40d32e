"""The words we write to a customer, in their language.

A language is a directory of templates (``templates/<lang>/``, English at the top of
``templates/``) and a ``words.toml`` beside them: how dates are written (Babel patterns, so the
day and month names are the language's own) and the few short phrases the gateway puts into a
mail itself (what a date is for, the greeting, the details we ask for). A key a language leaves
out is taken from English.

The gateway builds those phrases as :class:`Phrase` values: a ``str`` whose text is the English
wording (what the ledger records and our own people read), which also remembers what it means, so
the composer can say it again in the customer's language (:func:`speak`). A date told to a German
customer is stored as English in the ledger and written in German in their mail.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime

from gateway.text.greeting import first_name

ENGLISH = "en"
WORDS_FILE = "words.toml"


def _builtin() -> Traversable:
    return files("gateway") / "templates"


def _read(node: Traversable) -> dict[str, Any]:
    return tomllib.loads(node.read_text(encoding="utf-8")) if node.is_file() else {}


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    return out


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h:02d}:{m:02d}"


@functools.lru_cache(maxsize=4096)
def _formatted(t: datetime, zone: str, pattern: str, locale: str) -> str:
    """Babel's rendering of ``t`` (a few dates recur in every mail: formatted once). ``zone``
    is in the key because aware datetimes at one instant are equal whatever their zone."""
    return str(format_datetime(t, pattern, locale=locale))


@dataclass(frozen=True)
class Speech:
    """One language's words (see the module's docstring)."""

    language: str
    words: Mapping[str, Any]

    @functools.cached_property
    def staff(self) -> Speech:
        """These words as our own people's mail says them (``[staff_dates]`` over
        ``[dates]``: "16:15 for the customer", never "your time")."""
        return Speech(
            self.language, _merge(self.words, {"dates": dict(self.words.get("staff_dates", {}))})
        )

    def _get(self, section: str, key: str) -> str:
        value = self.words.get(section, {}).get(key)
        if not isinstance(value, str):
            raise KeyError(f"{self.language}/{WORDS_FILE} has no {section}.{key}")
        return value

    def _day(self, t: datetime) -> str:
        return _formatted(t, str(t.tzinfo), self._get("dates", "day"), self.language)

    def _time(self, t: datetime) -> str:
        return _formatted(t, str(t.tzinfo), self._get("dates", "time"), self.language)

    def when(self, t: datetime, tz: ZoneInfo, customer_offset_minutes: int | None = None) -> str:
        """'Tuesday 24 November, 10:15 EST', plus the customer's own time when their UTC
        offset (from their mail's Date header) differs from ours."""
        local = t.astimezone(tz)
        text = self._get("dates", "when").format(
            day=self._day(local), time=self._time(local), zone=local.tzname()
        )
        if customer_offset_minutes is None or local.utcoffset() == timedelta(
            minutes=customer_offset_minutes
        ):
            return text
        theirs = t.astimezone(timezone(timedelta(minutes=customer_offset_minutes)))
        key = "their_time" if theirs.date() == local.date() else "their_day_time"
        return self._get("dates", key).format(
            when=text,
            day=self._day(theirs),
            time=self._time(theirs),
            offset=_offset(customer_offset_minutes),
        )

    def quote(self, text: str) -> str:
        return self._get("phrases", "quote").format(text=text)

    def both(self, items: Sequence[str]) -> str:
        """'a, b and c' (one item: itself)."""
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + self._get("phrases", "and") + items[-1]

    def kind(self, kind: str, point: str = "") -> str:
        """What a date is for: 'a reply'; for a point, 'an answer to “<the point>”'."""
        if point:
            return self._get("kinds", "answer_to").format(points=self.quote(point))
        return self._get("kinds", kind) if kind in self.words.get("kinds", {}) else kind

    def owed(self, kinds: Sequence[str], points: Sequence[str]) -> str:
        """What one date is for: its kinds, and the points it answers, named."""
        said = [self.kind(k) for k in kinds]
        if points:  # the reply those points are part of is said by them
            said = [s for s in said if s != self.kind("actionable")]
            answer = self.both([self.quote(p) for p in points])
            said.insert(0, self._get("kinds", "answer_to").format(points=answer))
        return self.both(list(dict.fromkeys(said)))

    def greeting(self, display_name: str) -> str:
        """'Dear Richard,' when the display name gives a first name we trust, else 'Hello,'."""
        first = first_name(display_name)
        if first:
            return self._get("greeting", "named").format(name=first)
        return self._get("greeting", "anonymous")

    def status(self, state: str, se: str) -> str:
        return self._get("status", state).format(se=se)

    def report_subject(self, open_count: int, day: datetime) -> str:
        """The customer report's subject: how many tickets are open, as of which day."""
        return self._get("report", "subject").format(open=open_count, day=self._day(day))

    def ask(self, detail: str, product: str = "") -> str:
        """A detail we ask a fault report for ('which version of exports you are running')."""
        if not product and f"{detail}_unnamed" in self.words.get("asks", {}):
            return self._get("asks", f"{detail}_unnamed")
        return self._get("asks", detail).format(product=product)


class Phrase(str):
    """Words the gateway wrote: the English text, and :meth:`say` for any language."""

    def say(self, speech: Speech) -> str:
        raise NotImplementedError

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles keep the plain English text
        return (str, (str(self),))


class When(Phrase):
    """A date as a customer reads it (see :meth:`Speech.when`)."""

    t: datetime
    tz: ZoneInfo
    offset: int | None

    def __new__(cls, t: datetime, tz: ZoneInfo, offset: int | None = None) -> When:
        self = super().__new__(cls, english().when(t, tz, offset))
        self.t, self.tz, self.offset = t, tz, offset
        return self

    def say(self, speech: Speech) -> str:
        return speech.when(self.t, self.tz, self.offset)


class Kind(Phrase):
    """What a date is for (see :meth:`Speech.kind`)."""

    kind: str
    point: str

    def __new__(cls, kind: str, point: str = "") -> Kind:
        self = super().__new__(cls, english().kind(kind, point))
        self.kind, self.point = kind, point
        return self

    def say(self, speech: Speech) -> str:
        return speech.kind(self.kind, self.point)


class Owed(Phrase):
    """What one date is for, with the points it answers (see :meth:`Speech.owed`)."""

    kinds: tuple[str, ...]
    points: tuple[str, ...]

    def __new__(cls, kinds: Sequence[str], points: Sequence[str]) -> Owed:
        self = super().__new__(cls, english().owed(kinds, points))
        self.kinds, self.points = tuple(kinds), tuple(points)
        return self

    def say(self, speech: Speech) -> str:
        return speech.owed(self.kinds, self.points)


class Greeting(Phrase):
    name: str

    def __new__(cls, display_name: str) -> Greeting:
        self = super().__new__(cls, english().greeting(display_name))
        self.name = display_name
        return self

    def say(self, speech: Speech) -> str:
        return speech.greeting(self.name)


class Status(Phrase):
    """Where a ticket stands ('in progress with Sam Engineer')."""

    state: str
    se: str

    def __new__(cls, state: str, se: str) -> Status:
        self = super().__new__(cls, english().status(state, se))
        self.state, self.se = state, se
        return self

    def say(self, speech: Speech) -> str:
        return speech.status(self.state, self.se)


class Ask(Phrase):
    """A detail we ask a fault report for (see :meth:`Speech.ask`)."""

    detail: str
    product: str

    def __new__(cls, detail: str, product: str = "") -> Ask:
        self = super().__new__(cls, english().ask(detail, product))
        self.detail, self.product = detail, product
        return self

    def say(self, speech: Speech) -> str:
        return speech.ask(self.detail, self.product)


def speak(value: Any, speech: Speech) -> Any:
    """``value`` (a template's context, any nesting of dicts, lists and tuples) with every
    :class:`Phrase` in it said in ``speech``'s language."""
    if isinstance(value, Phrase):
        return value.say(speech)
    if isinstance(value, dict):
        return {k: speak(v, speech) for k, v in value.items()}
    if isinstance(value, list):
        return [speak(v, speech) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(speak(v, speech) for v in value)
    return value


@cache
def english() -> Speech:
    """The built-in English words: the text of every :class:`Phrase`."""
    return Speech(ENGLISH, _read(_builtin() / WORDS_FILE))


def languages(templates_dir: str = "") -> dict[str, Speech]:
    """Every language we can write: English, and each ``<lang>/`` (in the operator's template
    directory or the built-in one) with a ``words.toml`` whose name Babel knows. The operator's
    words override the built-in ones key by key."""
    roots: list[Traversable] = [_builtin()]
    if templates_dir:
        roots.append(Path(templates_dir))
    found: dict[str, dict[str, Any]] = {ENGLISH: {}}
    for root in roots:
        if not root.is_dir():
            continue
        found[ENGLISH] = _merge(found[ENGLISH], _read(root / WORDS_FILE))
        for node in root.iterdir():
            if node.is_dir() and (node / WORDS_FILE).is_file():
                found[node.name] = _merge(found.get(node.name, {}), _read(node / WORDS_FILE))
    out = {}
    for name, words in found.items():
        if name != ENGLISH and not known(name):
            continue
        base = found[ENGLISH] if name != ENGLISH else {}
        out[name] = Speech(name, _merge(base, words))
    return out


def language_name(code: str) -> str:
    """'German' for 'de' (in English, for our own people)."""
    try:
        return str(Locale.parse(code).get_display_name(ENGLISH) or code)
    except (ValueError, UnknownLocaleError):
        return code


def known(language: str) -> bool:
    """Whether Babel knows ``language`` (a code such as 'de' or 'pt_BR')."""
    try:
        Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        return False
    return True
