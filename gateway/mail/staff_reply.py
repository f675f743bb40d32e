"""Replying by mail (pure parts): relay addresses, commands, and the SE's own words.

The SE's copy of a ticket has ``Reply-To: support+SUP-1042.k7f3qz2abc@example.com``: the ticket
key and an unguessable token. What the SE newly writes (above, below or between the quoted
lines, whatever their mail client: :mod:`gateway.mail.reading`) goes to the customer; command lines
(``#eta``, ``#waiting``, ``#resolved``, ``#assign``, ``#note``, ``#priority``, ``#cc add|remove``,
``#merge``) act on the ticket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from gateway.mail import reading
from gateway.mail.reading import Line
from gateway.promise.calendar import BusinessCalendar

_RELAY = re.compile(
    r"^(?P<local>[^+@\s]+)\+(?P<key>[a-z][a-z0-9]*-\d+)\.(?P<token>[a-z0-9]+)@(?P<domain>\S+)$"
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
    lines: tuple[Line, ...] = ()  # the SE's own lines and those they quoted, without commands

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


def parse_reply(text: str, html: str, table: Mapping[str, Syntax]) -> SeReply:
    """Split an SE's reply into commands and their own words (:mod:`gateway.mail.reading`).

    Commands belong at the top of the SE's words, but an SE writes ``#resolved`` under their
    text as often: a command line anywhere in the SE's own lines (above, below or between the
    quoted lines) runs too, and is never sent to the customer; the confirmation says it ran. A
    line in a quote or in an unquoted copy of an earlier mail is never a command."""
    lines = reading.own_lines(reading.lines_of(text, html))
    commands: list[Command] = []
    errors: list[str] = []
    kept: list[Line] = []
    top = True  # still among the first own lines: every '#' line there is meant as a command
    for line in lines:
        stripped = line.text.strip()
        if line.quoted or not stripped:
            kept.append(line)
            continue
        if top and stripped.startswith("#"):
            parsed = _command(stripped, table)
        elif _looks_like_command(stripped, table):
            parsed = _command(stripped, table, below=True)
        else:
            top = False
            kept.append(line)
            continue
        if isinstance(parsed, Command):
            commands.append(parsed)
        else:
            errors.append(parsed)
    return SeReply(tuple(commands), tuple(errors), reading.new_words(kept), tuple(kept))


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


def _norm(text: str) -> str:
    text = " ".join(text.replace(">", " ").split()).lower()
    return text.removeprefix("(new) ")[:60]  # the SE copy marks a new point so


@dataclass(frozen=True)
class InlineReply:
    general: str  # the SE's words that answer no point in particular
    answers: tuple[tuple[str, str], ...]  # (point, answer) in the customer's order
    unanswered: tuple[str, ...]

    @property
    def inline(self) -> bool:
        return bool(self.answers)


def split_inline(lines: Sequence[Line], points: list[str]) -> InlineReply:
    """Which of the customer's ``points`` the SE answered below their quote.

    A point counts as answered when the SE's own lines follow its quoted line (the SE copy's
    skeleton, quoted once more by the SE's mail client), up to the next quoted line. The SE's
    other words are ``general``; with no answer under any point, all of them are."""
    keys = [(_norm(p), p) for p in points]
    general: list[Line] = []
    answers: dict[str, list[Line]] = {p: [] for p in points}
    current: str | None = None
    for line in lines:
        if line.quoted:
            key = _norm(line.text)
            match = next(
                (p for k, p in keys if key and (k.startswith(key) or key.startswith(k))), None
            )
            if match is not None:
                current = match
            elif current is not None and (
                any(x.text.strip() for x in answers[current])
                or (key and key not in " ".join(current.lower().split()))
            ):
                current = None  # the copy goes on (a wrapped point goes on in its own words)
            general.append(line)
            continue
        (answers[current] if current is not None else general).append(line)
    done = tuple((p, reading.new_words(a)) for p, a in answers.items() if reading.new_words(a))
    if not done:
        return InlineReply(reading.new_words(list(lines)), (), ())
    answered = {p for p, _ in done}
    return InlineReply(
        reading.new_words(general), done, tuple(p for p in points if p not in answered)
    )


class Substance(StrEnum):
    """What an SE's words do for the customer's points (see :func:`substance`)."""

    NONE = "none"  # no words at all, or only a signature: nothing to send
    GREETING = "greeting"  # only a greeting, a closing or a name: answers nothing
    HOLDING = "holding"  # "we are looking into it": a reply, not yet an answer
    ANSWER = "answer"


_SIGNATURE = re.compile(
    r"^(?:sent from my .{1,40}|get outlook for .{1,30}|sent from (?:outlook|mail) for .{1,30}|"
    r"von meinem .{1,40} gesendet|gesendet von .{1,40}|envoyé de mon .{1,40}|"
    r"enviado desde mi .{1,40}|inviato da .{1,40}|verzonden (?:met|vanaf) .{1,40}|"
    r"enviado do meu .{1,40}|wysłane z .{1,40}|отправлено с .{1,40}|"
    r"sent with .{1,40}|iphoneから送信)$",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|guten (?:morgen|tag)|"
    r"liebe[rs]?|sehr geehrte[rs]?|bonjour|bonsoir|salut|cher|chère|madame|monsieur|hola|"
    r"estimad[oa]s?|buen(?:os|as) (?:días|tardes)|ciao|gentile|buongiorno|salve|hoi|beste|"
    r"geachte|goedemorgen|goedemiddag|olá|bom dia|prezad[oa]|cześć|dzień dobry|witam|"
    r"здравствуйте|добрый день|привет|こんにちは)\b[^.!?\n]{0,40}[,!.:]?$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^(?:thanks?(?: again| a lot)?|thank you|many thanks|thx|cheers|best(?: wishes)?|"
    r"(?:best|kind|warm|many) regards|regards|sincerely|yours(?: sincerely)?|all the best|"
    r"mit freundlichen grüßen|viele grüße|beste grüße|freundliche grüße|grüße|lg|danke|"
    r"cordialement|bien à vous|bien cordialement|merci|saludos|un saludo|atentamente|gracias|"
    r"saluti|cordiali saluti|distinti saluti|grazie|groet(?:en)?|met vriendelijke groet(?:en)?|"
    r"bedankt|atenciosamente|abraços|obrigad[oa]|pozdrawiam|z poważaniem|dziękuję|"
    r"с уважением|спасибо|よろしくお願いします)[,!. ]*$",
    re.IGNORECASE,
)
_HOLDING = re.compile(
    r"looking into (?:it|this|that|the)|look into (?:it|this)|(?:get|come|be) back to you|"
    r"(?:will|'ll|shall) (?:revert|update you|let you know|follow up|keep you)|"
    r"keep you (?:posted|updated|informed)|checking (?:with|on|this|that|it|internally)|"
    r"(?:are|am|'re|'m) (?:investigating|checking|on it|working on (?:it|this))|"
    r"as soon as (?:we|i) (?:know|have|can|hear)|escalated|passed (?:it|this) on|"
    r"bear with (?:us|me)|"
    r"(?:wir|ich) (?:prüfen|schauen|sehen uns|kümmern uns|kläre|klären)|melde mich|melden uns|"
    r"in bearbeitung|"
    r"nous (?:regardons|examinons|vérifions|analysons)|(?:reviens|revenons|reviendrons?) vers "
    r"vous|vous tiendr(?:ons|ai) (?:au courant|informé)|"
    r"estamos (?:revisando|investigando|mirando|analizando)|(?:nos|me) pondr(?:emos|é) en "
    r"contacto|le (?:mantendremos|informaremos)|"
    r"stiamo (?:verificando|controllando|analizzando)|(?:ti|vi) (?:faremo|farò) sapere|"
    r"(?:we|ik) (?:kijken|zoeken|bekijken) (?:er|het|dit)|kom(?:en)? (?:er )?op terug|"
    r"estamos (?:verificando|analisando)|retornaremos|"
    r"разбираемся|проверяем|вернусь с ответом|sprawdzamy|wrócę z odpowiedzią",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"^(?:thanks?|thank you|many thanks|sorry|apolog|i understand|we understand|"
    r"danke|merci|gracias|grazie|bedankt|obrigad|спасибо|dziękuj)",
    re.IGNORECASE,
)
_SENTENCES = re.compile(r"(?<=[.!?。！？])\s+")


def without_signature(text: str) -> str:
    """``text`` up to its signature (a ``--`` line, or a client's "Sent from my iPhone")."""
    kept = []
    for line in text.split("\n"):
        if line.strip() in ("--", "-- ", "—") or _SIGNATURE.match(line.strip()):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def substance(text: str, writer: str = "") -> Substance:
    """Whether an SE's words answer anything: a greeting, a closing and a name answer nothing
    (also the ``writer``'s own name, or first name, signing off on a last line of its own); a
    holding reply ("We are looking into it and will get back to you.") is not an answer."""
    body = without_signature(text)
    if not body:
        return Substance.NONE
    names = {writer.casefold(), *writer.casefold().split()[:1]} - {""}
    lines = body.rstrip().split("\n")
    if len(lines) > 1 and lines[-1].strip(" -\u2013\u2014,.").casefold() in names:
        body = "\n".join(lines[:-1])
    said: list[str] = []
    closed = False
    for line in body.split("\n"):
        line = line.strip()
        if not line or _GREETING.match(line):
            continue
        if _CLOSING.match(line):
            closed = True
            continue
        if closed and len(line.split()) <= 4:
            continue  # the name under "Best regards"
        said.append(line)
    if not said:
        return Substance.GREETING
    sentences = [s for s in _SENTENCES.split(" ".join(said)) if s.strip()]
    holding = [s for s in sentences if _HOLDING.search(s)]
    if holding and all(_HOLDING.search(s) or _FILLER.match(s) for s in sentences):
        return Substance.HOLDING
    return Substance.ANSWER


# The SE copy's own lines (templates/se_copy.txt.j2): its banner, its opening, its labelled
# fields written at column 11, and its help for inline answers.
_COPY_LABELS = frozenset(
    {
        "From", "Customer", "Forwarded", "Mentions", "In CC", "Account", "SC", "Priority",
        "Language", "Routed", "Received", "Files", "Promised", "Date", "New", "At risk",
        "Urgent", "Deadline", "Pending",
    }
)  # fmt: skip
_COPY_LINE = re.compile(
    r"^(?:## Reply above this line|## Commands at the top:|New ticket [A-Z][A-Z0-9]*-\d+ is "
    r"assigned to you|Follow-up from the customer on [A-Z][A-Z0-9]*-\d+|After-hours triage "
    r"copy of|The customer wrote again on [A-Z][A-Z0-9]*-\d+|Their note: |Answer inline: write "
    r"under each point|The customer's message is (?:attached|\S+, over the limit))"
)
_FIELD = re.compile(r"^(?P<label>[A-Za-z ]{2,9}):(?P<pad> +)\S")
_RELAY_IN_TEXT = re.compile(r"\+[a-z][a-z0-9]*-\d+\.[a-z0-9]{6,}@", re.IGNORECASE)


def internal_text(text: str, token: str) -> list[str]:
    """Why ``text`` (an SE's words, about to go to a customer) holds words of ours that are not
    for customers: the SE copy's banner, fields and help, a relay address, the ticket's token.
    Empty when it holds none."""
    found = []
    for line in text.split("\n"):
        stripped = line.strip()
        field = _FIELD.match(stripped)
        if _COPY_LINE.match(stripped) or (
            field is not None
            and field.group("label") in _COPY_LABELS
            and len(field.group("label")) + 1 + len(field.group("pad")) == 11
        ):
            found.append(f"a line of the SE copy: \u201c{_short(stripped)}\u201d")
    if _RELAY_IN_TEXT.search(text):
        found.append("a relay address (it lets its holder act on the ticket)")
    elif token and token in text:
        found.append("the ticket's relay token")
    return found


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
