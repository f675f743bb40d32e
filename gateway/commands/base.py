"""What every ``#command`` is made of, and what it works on.

A command is checked before anything runs (a mail with any invalid command does nothing but
tell the SE why), then run in its stage: before the SE's words are relayed (``#cc``, so the
answer already goes to the new set; ``#eta``, so the answer carries the date), or after them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from gateway.core.models import DateKind, Outbound, Ticket
from gateway.pipeline.work import Services, Work
from gateway.store import Db, commitments, tickets


class Stage(IntEnum):
    BEFORE_REPLY = 0
    AFTER_REPLY = 1


@dataclass
class Acting:
    """One SE mail being acted on: the commands add to its mails and to what the SE is told."""

    s: Services
    w: Work
    db: Db
    ticket: Ticket
    sender: str
    mails: list[Outbound] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    when: datetime | None = None  # #eta: the next date, set before the reply is composed
    eta_words: str = ""
    resolve_words: str = ""  # #eta resolve: the resolution date promised

    @property
    def now(self) -> datetime:
        return self.w.now

    @property
    def sharing(self) -> bool:
        """An SC on a ticket someone else owns: they answer their own points (a quote beside
        the SE's answer), not the ticket's next step."""
        return not self.s.directory.is_se(self.sender) and (
            self.sender.lower() != self.ticket.se.lower()
        )

    def owes(self, c: commitments.Commitment) -> bool:
        """Whether the sender owes ``c``: an SC their own points; anyone else the ticket's."""
        return (
            c.owner == self.sender.lower() if self.sharing else c.owner in ("", self.sender.lower())
        )

    def staff_when(self, t: datetime) -> str:
        """A date in what the SE is told (see :meth:`Services.staff_when`)."""
        return self.s.staff_when(t)

    def fresh(self) -> Ticket:
        """The ticket as stored now (a command before this one may have changed it)."""
        self.ticket = tickets.get(self.db, self.ticket.id)
        return self.ticket


def no_syntax(arg: str) -> tuple[str, str]:
    return arg, ""


def no_check(a: Acting, arg: str) -> str:
    return ""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str  # as the README and error mails write it
    run: Callable[[Acting, str], None]
    stage: Stage = Stage.AFTER_REPLY
    needs_arg: bool = False
    # The argument's form, read when the mail is parsed: (the argument as used, a problem or '').
    syntax: Callable[[str], tuple[str, str]] = no_syntax
    # Whether it can run on this ticket, before anything runs: a problem or ''.
    check: Callable[[Acting, str], str] = no_check
    # An SC may use it on a ticket they do not own (#note, #away, #answered, #cc); on an SC's
    # own ticket (a quote, an invoice: the requests step) the SC may use every command.
    sc_may: bool = False


def points_now(a: Acting) -> str:
    """Every point of the ticket as now recorded, numbered as #answered and #open take them
    (dates in the team's time: this is the SE's mail)."""
    db, t = a.db, a.ticket
    still = {
        c.point: a.staff_when(c.due_at)
        for c in commitments.open_for(db, t.id)
        if c.kind == DateKind.POINT
    }
    return (
        "the customer's points, as recorded: "
        + "; ".join(
            f"{n}. \u201c{_first_words(p)}\u201d "
            + (f"open, due {still[p]}" if p in still else "answered")
            for n, p in enumerate(commitments.points_of(db, t.id), 1)
        )
        + " (to correct it: #answered <n>, #open <n>)"
    )


def numbers(arg: str) -> tuple[str, str]:
    """The syntax of "#answered 1, 3": point numbers (as the confirmations number them)."""
    parts = [p for p in arg.replace(",", " ").split() if p]
    if not parts or not all(p.isdigit() and 0 < int(p) < 100 for p in parts):
        return arg, "give the point's number as your last confirmation lists it, e.g. 2 or 1,3"
    return " ".join(parts), ""


def numbered(a: Acting, arg: str) -> list[tuple[int, str]]:
    """(number, point) for each number in ``arg`` (checked: see :func:`numbers`)."""
    points = commitments.points_of(a.db, a.ticket.id)
    return [(int(n), points[int(n) - 1]) for n in arg.split() if int(n) <= len(points)]


def check_numbers(a: Acting, arg: str) -> str:
    count = len(commitments.points_of(a.db, a.ticket.id))
    wrong = [n for n in arg.split() if int(n) > count]
    if wrong:
        return f"{a.ticket.key} has {count} point(s): there is no point {', '.join(wrong)}"
    return ""


def _first_words(text: str, limit: int = 50) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
