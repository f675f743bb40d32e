"""Replying by mail (pure parts): relay addresses, commands, and the SE's own words.

The SE's copy of a ticket has ``Reply-To: support+SUP-1042.k7f3qz2abc@example.com``: the ticket
key and an unguessable token. What the SE writes above the quoted copy goes to the customer;
command lines at the top (``#eta``, ``#waiting``, ``#resolved``, ``#assign``, ``#note``,
``#priority``, ``#cc add|remove``, ``#merge``) act on the ticket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from gateway.calendar import BusinessCalendar

MARKER = "Reply above this line"
_RELAY = re.compile(
    r"^(?P<local>[^+@\s]+)\+(?P<key>[a-z][a-z0-9]*-\d+)\.(?P<token>[a-z0-9]+)@(?P<domain>\S+)$"
)
# Where a mail client starts the quoted copy of the mail being answered.
_QUOTE_STARTS = (
    re.compile(r"^\s*On .{1,200}wrote:\s*$"),
    re.compile(r"^\s*Le .{1,200}a écrit\s*:\s*$"),
    re.compile(r"^\s*Am .{1,200}schrieb .{1,200}:\s*$"),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*From:\s.+$"),
    re.compile(r"^\s*>"),
)


def relay_address(support_address: str, key: str, token: str) -> str:
    local, _, domain = support_address.partition("@")
    return f"{local}+{key.lower()}.{token}@{domain}"


def find_relay(recipients: tuple[str, ...], support_address: str) -> tuple[str, str] | None:
    """(ticket key, token) from the first of ``recipients`` that is one of our relay addresses."""
    local, _, domain = support_address.lower().partition("@")
    for rcpt in recipients:
        m = _RELAY.match(rcpt.lower())
        if m and m.group("local") == local and m.group("domain") == domain:
            return m.group("key").upper(), m.group("token")
    return None


@dataclass(frozen=True)
class Command:
    name: str
    arg: str
    line: str
    below: bool = False  # written below the SE's text, not at the top


@dataclass(frozen=True)
class SeReply:
    commands: tuple[Command, ...]
    errors: tuple[str, ...]
    text: str  # the SE's words for the customer ('' when the mail is only commands)
    body: str = ""  # everything after the commands, quotes included (for inline answers)

    @property
    def moved(self) -> tuple[Command, ...]:
        """Commands found below the text: run, and taken out of what the customer reads."""
        return tuple(c for c in self.commands if c.below)


class Syntax(Protocol):
    """What parsing needs of a command (see :mod:`gateway.commands`)."""

    @property
    def needs_arg(self) -> bool: ...

    @property
    def syntax(self) -> Callable[[str], tuple[str, str]]: ...


def _command(line: str, table: Mapping[str, Syntax], below: bool = False) -> Command | str:
    """One command line: the command, or why it is not one."""
    name, _, arg = line[1:].partition(" ")
    name, arg = name.lower(), arg.strip()
    spec = table.get(name)
    if spec is None:
        return f"{line}: unknown command (known: {', '.join('#' + c for c in table)})"
    if spec.needs_arg and not arg:
        return f"{line}: #{name} needs a value"
    arg, problem = spec.syntax(arg)
    if problem:
        return f"{line}: {problem}"
    return Command(name, arg, line, below)


def _looks_like_command(line: str, table: Mapping[str, Syntax]) -> bool:
    """A line of its own that starts with one of our commands (``#resolved``, ``#eta +2bd``);
    ``#1 priority`` or ``#hashtag`` in prose are the SE's words."""
    name = line[1:].partition(" ")[0].lower() if line.startswith("#") else ""
    return name in table


def parse_reply(body: str, table: Mapping[str, Syntax]) -> SeReply:
    """Split an SE's reply into commands and the words above the quoted copy.

    Commands belong at the top, but an SE writes ``#resolved`` under their text as often: a
    command line anywhere in the SE's own lines (above the quoted copy, or between its quoted
    lines as an inline answer) runs too, and is never sent to the customer; the confirmation
    says it ran, and what went as text."""
    lines = body.replace("\r\n", "\n").split("\n")
    commands: list[Command] = []
    errors: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
            continue
        if not line.startswith("#"):
            break
        parsed = _command(line, table)
        if isinstance(parsed, Command):
            commands.append(parsed)
        else:
            errors.append(parsed)
        i += 1
    kept = []
    scanning = True  # the SE's own lines: above the quote, and their inline answers in it
    for raw in lines[i:]:
        line = raw.strip()
        if MARKER in line or _UNQUOTED_COPY.match(line):
            scanning = False  # a copy below that is not quoted (Outlook): not the SE's words
        if scanning and _looks_like_command(line, table):
            parsed = _command(line, table, below=True)
            if isinstance(parsed, Command):
                commands.append(parsed)
            else:
                errors.append(parsed)
            continue
        kept.append(raw)
    remaining = "\n".join(kept)
    return SeReply(tuple(commands), tuple(errors), strip_quoted(remaining), remaining)


_UNQUOTED_COPY = re.compile(
    r"^(?:From:\s.+|-{2,}\s*Original Message\s*-{2,}|_{10,})$", re.IGNORECASE
)


def _quote_start(lines: list[str]) -> int:
    """The index of the first line of the quoted copy (or our banner); len(lines) if none."""
    for n, line in enumerate(lines):
        if MARKER in line or any(p.match(line) for p in _QUOTE_STARTS):
            return n
    return len(lines)


def strip_quoted(text: str) -> str:
    """The words above the quoted copy (and above our banner, if the client kept it)."""
    lines = text.split("\n")
    kept = [line.rstrip() for line in lines[: _quote_start(lines)]]
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


class WhenError(ValueError):
    pass


def parse_when(text: str, now: datetime, calendar: BusinessCalendar) -> datetime:
    """An engineer's date: ``+2bd`` (two business days), ``tomorrow 15:00``, ``today 16:30``,
    ``2026-11-25 10:00`` or ``2026-11-25`` (close of that day), in the support time zone."""
    text = " ".join(text.lower().split())
    tz = calendar.tz
    local_now = now.astimezone(tz)
    if m := re.fullmatch(r"\+(\d{1,2})\s*bd", text):
        return calendar.add_business_days(now, int(m.group(1)))
    if m := re.fullmatch(r"(today|tomorrow)(?: (\d{1,2}):(\d{2}))?", text):
        day = local_now.date() + timedelta(days=1 if m.group(1) == "tomorrow" else 0)
        if m.group(2) is None:
            return _close_of(calendar, day)
        return _at(day, int(m.group(2)), int(m.group(3)), tz, now)
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[ t](\d{1,2}):(\d{2}))?", text):
        try:
            day = datetime.strptime(m.group(1), "%Y-%m-%d").date()
        except ValueError as exc:
            raise WhenError(f"{text!r} is not a date") from exc
        if m.group(2) is None:
            return _close_of(calendar, day)
        return _at(day, int(m.group(2)), int(m.group(3)), tz, now)
    raise WhenError(
        f"{text!r}: use +2bd, tomorrow 15:00, today 16:30, 2026-11-25 10:00 or 2026-11-25"
    )


def _at(day: date, hour: int, minute: int, tz: ZoneInfo, now: datetime) -> datetime:
    if hour > 23 or minute > 59:
        raise WhenError(f"{hour}:{minute:02d} is not a time")
    t = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if t <= now:
        raise WhenError(f"{t:%Y-%m-%d %H:%M} has already passed")
    return t


def _close_of(calendar: BusinessCalendar, day: date) -> datetime:
    try:
        return calendar.end_of_day(day)
    except ValueError as exc:
        raise WhenError(f"{day} is not a business day: give a time") from exc


_ATTRIBUTION = re.compile(r"^\s*(On|Le|Am|El) .{1,200}(wrote|a écrit|schrieb|escribió)\s*:?\s*$")


def _norm(text: str) -> str:
    return " ".join(text.replace(">", " ").split()).lower()[:60]


@dataclass(frozen=True)
class InlineReply:
    general: str  # the SE's words above the quoted copy
    answers: tuple[tuple[str, str], ...]  # (point, answer) in the customer's order
    unanswered: tuple[str, ...]

    @property
    def inline(self) -> bool:
        return bool(self.answers)


def split_inline(body: str, points: list[str]) -> InlineReply:
    """Which of the customer's ``points`` the SE answered below their quote in ``body``.

    A point counts as answered when unquoted text follows its quoted line (the SE copy's
    skeleton, quoted once more by the SE's mail client). With no answer under any point the
    reply is prose: everything above the quoted copy is the answer and no point is singled out.
    """
    keys = [(_norm(p), p) for p in points]
    general: list[str] = []
    answers: dict[str, list[str]] = {p: [] for p in points}
    current: str | None = None
    seen_quote = False
    for line in body.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if stripped.startswith(">"):
            seen_quote = True
            key = _norm(stripped)
            match = next(
                (p for k, p in keys if key and (k.startswith(key) or key.startswith(k))), None
            )
            if match is not None:
                current = match
            elif current is not None and any(s.strip() for s in answers[current]):
                current = None  # the copy goes on below the answer: the answer is over
            continue
        if _ATTRIBUTION.match(line) or MARKER in line:
            continue
        if current is not None:
            answers[current].append(line.rstrip())
        elif not seen_quote:
            general.append(line.rstrip())
    done = tuple((p, "\n".join(a).strip()) for p, a in answers.items() if "\n".join(a).strip())
    if not done:
        return InlineReply(strip_quoted(body), (), ())
    answered = {p for p, _ in done}
    return InlineReply(
        "\n".join(general).strip(), done, tuple(p for p in points if p not in answered)
    )
