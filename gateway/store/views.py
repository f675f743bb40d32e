"""The web view's reads: the ticket list with its filters, a ticket's whole record, the
operations lists. Run on a :class:`~gateway.store.db.Reader` (one snapshot, read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from gateway.core.models import TicketState
from gateway.store.commitments import standing
from gateway.store.db import Db, Dialect, from_ts, marks, ts


class Due(StrEnum):
    """The list's date filters."""

    ANY = ""
    OVERDUE = "overdue"  # a date has passed unmet, or a revised date stands: running late
    DAY = "24h"  # a date falls within the next 24 hours


@dataclass(frozen=True)
class Scope:
    """What a person may see: everything, or (an SC) the tickets of their accounts and the
    tickets they are the SC of."""

    everything: bool
    sc: str = ""
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketFilter:
    state: str = ""
    se: str = ""
    sc: str = ""
    account: str = ""
    product: str = ""
    priority: str = ""
    due: Due = Due.ANY
    waiting: bool = False  # waiting on the customer
    q: str = ""  # subject, customer address, ticket key or Message-ID


@dataclass(frozen=True)
class TicketRow:
    id: int
    key: str
    subject: str
    customer: str
    account: str
    product: str
    priority: str
    se: str
    sc: str
    state: str
    active: datetime
    next_due: datetime | None  # the soonest standing date
    late: bool  # a date has passed unmet, or a revised date stands


def _visible(scope: Scope) -> tuple[str, dict[str, Any]]:
    if scope.everything:
        return "TRUE", {}
    if not scope.accounts:  # ``IN ()`` is SQLite's, not PostgreSQL's
        return "t.sc = :me", {"me": scope.sc}
    names = [f":a{i}" for i in range(len(scope.accounts))]
    return (
        f"(t.sc = :me OR t.account IN ({', '.join(names)}))",
        {"me": scope.sc, **{n[1:]: a for n, a in zip(names, scope.accounts, strict=True)}},
    )


_LATE = (
    f"EXISTS (SELECT 1 FROM commitments c WHERE c.ticket_id = t.id AND {standing('c')}"
    " AND (c.due_at <= :now OR c.revision_of IS NOT NULL))"
)


def _where(
    f: TicketFilter, scope: Scope, now: datetime, dialect: Dialect
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (named parameters) for a filter within a scope."""
    vis_sql, args = _visible(scope)
    clauses = [vis_sql]
    for column in ("state", "se", "sc", "account", "product", "priority"):
        value = getattr(f, column)
        if value:
            clauses.append(f"t.{column} = :{column}")
            args[column] = value
    if f.waiting:
        clauses.append("t.state = :waiting")
        args["waiting"] = TicketState.WAITING.value
    if f.due is Due.OVERDUE:
        clauses.append(f"t.state != 'resolved' AND {_LATE}")
    elif f.due is Due.DAY:
        clauses.append(
            "t.state != 'resolved' AND EXISTS (SELECT 1 FROM commitments c"
            f" WHERE c.ticket_id = t.id AND {standing('c')}"
            " AND c.due_at > :now AND c.due_at <= :day)"
        )
        args["day"] = ts(now + timedelta(hours=24))
    q = f.q.strip()
    if q:
        # Three characters or more: the trigram index; fewer: a scan (rarely asked). On
        # PostgreSQL a pg_trgm index serves ILIKE at any length.
        if dialect is Dialect.POSTGRESQL:
            words = (
                "SELECT id FROM tickets WHERE subject ILIKE :like ESCAPE '\\'"
                " OR customer_address ILIKE :like ESCAPE '\\'"
            )
        elif len(q) >= 3:
            words = "SELECT rowid FROM tickets_search WHERE tickets_search MATCH :words"
        else:
            words = (
                "SELECT id FROM tickets WHERE subject LIKE :like ESCAPE '\\'"
                " OR customer_address LIKE :like ESCAPE '\\'"
            )
        clauses.append(
            f"t.id IN ({words} UNION SELECT id FROM tickets WHERE key = :key"
            " UNION SELECT ticket_id FROM message_ids WHERE message_id = :mid)"
        )
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args.update(
            words='"' + q.replace('"', '""') + '"',  # one phrase: the text as typed
            like=f"%{escaped}%",
            key=q.upper(),
            mid=q if q.startswith("<") else f"<{q}>",
        )
    args["now"] = ts(now)
    return " AND ".join(clauses), args


def tickets(
    db: Db, f: TicketFilter, scope: Scope, now: datetime, page: int, size: int
) -> tuple[list[TicketRow], int]:
    """One page of the tickets the filter finds (newest activity first), and how many it finds."""
    where, args = _where(f, scope, now, db.dialect)
    total_row = db.execute(f"SELECT count(*) FROM tickets t WHERE {where}", args).fetchone()
    total = int(total_row[0]) if total_row else 0
    cur = db.execute(
        "SELECT t.id, t.key, t.subject, t.customer_address, t.account, t.product, t.priority,"
        " t.se, t.sc, t.state, t.active_at,"
        " (SELECT min(c.due_at) FROM commitments c WHERE c.ticket_id = t.id"
        f"  AND {standing('c')}) AS next_due,"
        f" t.state != 'resolved' AND {_LATE} AS late"
        f" FROM tickets t WHERE {where} ORDER BY t.active_at DESC, t.id DESC"
        " LIMIT :limit OFFSET :offset",
        {**args, "limit": size, "offset": max(0, page - 1) * size},
    )
    rows = [
        TicketRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            from_ts(r[10]),
            from_ts(r[11]) if r[11] else None,
            bool(r[12]),
        )
        for r in cur.fetchall()
    ]
    return rows, total


@dataclass(frozen=True)
class Mail:
    direction: str  # in | out
    id: int  # the inbox or outbox row
    at: datetime
    kind: str  # the inbound action, or the outbound kind
    state: str  # processed, quarantined, ... | queued, sent, dead
    reason: str
    raw: bytes


@dataclass(frozen=True)
class Decision:
    step: str
    verdict: str
    reason: str


@dataclass(frozen=True)
class DateTold:
    id: int
    kind: str
    point: str
    due: datetime
    told: str
    made: datetime
    made_by: str
    promised: bool
    met: datetime | None
    missed: datetime | None
    revision_of: int | None
    superseded_by: int | None

    @property
    def fate(self) -> str:
        if self.met is not None:
            return "met" if self.met <= self.due else "met late"
        if self.missed is not None:
            return "missed, revised" if self.superseded_by else "missed"
        if self.superseded_by is not None:
            return "superseded"
        return "open"


@dataclass(frozen=True)
class Record:
    """A ticket's whole record for its page."""

    ticket: dict[str, Any]
    family: list[int]  # the ticket and those merged into it
    mails: list[Mail]  # oldest first
    decisions: dict[int, list[Decision]]  # by inbox id
    dates: list[DateTold]
    participants: list[tuple[str, str, str]]  # address, name, added by


def _at(value: str | None) -> datetime | None:
    return from_ts(value) if value else None


def ticket_by_key(db: Db, key: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM tickets WHERE key = ?", (key,)).fetchone()
    return dict(row) if row is not None else None


def may_see(ticket: dict[str, Any], scope: Scope) -> bool:
    """The list's scope rule for one ticket."""
    return scope.everything or ticket["sc"] == scope.sc or ticket["account"] in scope.accounts


def record(
    db: Db,
    ticket: dict[str, Any],
    out_kinds: frozenset[str] | None,
    in_hidden: frozenset[str] = frozenset(),
) -> Record:
    """Everything about ``ticket``: mail in and out (``out_kinds``: only those; None: all;
    never mail in whose action is in ``in_hidden``), the decisions on each mail in, every date
    with its fate, the participants."""
    family = [ticket["id"]]
    cur = db.execute(
        "WITH RECURSIVE m(id) AS (SELECT id FROM tickets WHERE merged_into = ?"
        " UNION SELECT t.id FROM tickets t JOIN m ON t.merged_into = m.id) SELECT id FROM m",
        (ticket["id"],),
    )
    family += [r[0] for r in cur.fetchall()]
    places = marks(family)
    cur = db.execute(
        "SELECT 'in', i.id, i.received_at, coalesce(i.action, i.state), i.state,"
        " coalesce(i.reason, ''), r.raw FROM inbox i JOIN inbox_raw r ON r.inbox_id = i.id"
        f" WHERE i.ticket_id IN ({places})"
        " UNION ALL"
        " SELECT 'out', o.id, o.created_at, o.kind, o.state, coalesce(o.last_error, ''), r.raw"
        " FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id"
        f" WHERE o.ticket_id IN ({places})"
        " ORDER BY 3, 1, 2",  # at one instant, the mail in before our answer to it
        (*family, *family),
    )
    mails = [
        Mail(r[0], r[1], from_ts(r[2]), r[3], r[4], r[5], bytes(r[6]))
        for r in cur.fetchall()
        if (r[0] == "in" and r[3] not in in_hidden)
        or (r[0] == "out" and (out_kinds is None or r[3] in out_kinds))
    ]
    inbound = [m.id for m in mails if m.direction == "in"]
    decisions: dict[int, list[Decision]] = {}
    if inbound:
        cur = db.execute(
            "SELECT inbox_id, step, verdict, reason FROM decisions"
            f" WHERE inbox_id IN ({marks(inbound)}) ORDER BY id",
            inbound,
        )
        for r in cur.fetchall():
            decisions.setdefault(r[0], []).append(Decision(r[1], r[2], r[3]))
    cur = db.execute(
        "SELECT id, kind, point, due_at, told, made_at, made_by, promised, met_at, missed_at,"
        f" revision_of, superseded_by FROM commitments WHERE ticket_id IN ({places})"
        " ORDER BY made_at, id",
        family,
    )
    dates = [
        DateTold(
            r[0],
            r[1],
            r[2],
            from_ts(r[3]),
            r[4],
            from_ts(r[5]),
            r[6],
            bool(r[7]),
            _at(r[8]),
            _at(r[9]),
            r[10],
            r[11],
        )
        for r in cur.fetchall()
    ]
    cur = db.execute(
        "SELECT address, name, added_by FROM participants WHERE ticket_id = ? ORDER BY added_at",
        (ticket["id"],),
    )
    people = [(r[0], r[1], r[2]) for r in cur.fetchall()]
    return Record(ticket, family, mails, decisions, dates, people)


def raw_mail(db: Db, direction: str, row_id: int) -> tuple[bytes, int | None] | None:
    """A stored mail's bytes and its ticket (for the leads' raw view)."""
    if direction == "in":
        sql = (
            "SELECT r.raw, i.ticket_id FROM inbox i JOIN inbox_raw r ON r.inbox_id = i.id"
            " WHERE i.id = ?"
        )
    else:
        sql = (
            "SELECT r.raw, o.ticket_id FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id"
            " WHERE o.id = ?"
        )
    row = db.execute(sql, (row_id,)).fetchone()
    return (bytes(row[0]), row[1]) if row is not None else None


@dataclass(frozen=True)
class Held:
    """A mail in quarantine or spam."""

    id: int
    state: str
    received: datetime
    message_id: str
    reason: str
    size: int


def held(db: Db, limit: int = 200) -> list[Held]:
    cur = db.execute(
        "SELECT id, state, received_at, coalesce(message_id, ''), coalesce(reason, ''), size"
        " FROM inbox WHERE state IN ('quarantined', 'spam') ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [Held(r[0], r[1], from_ts(r[2]), r[3], r[4], r[5]) for r in cur.fetchall()]


@dataclass(frozen=True)
class Stuck:
    """Outbound mail that waits on retries, or that the relay refused for good."""

    id: int
    ticket_key: str
    kind: str
    rcpt: str
    state: str
    attempts: int
    error: str
    created: datetime


def stuck(db: Db, limit: int = 200) -> list[Stuck]:
    cur = db.execute(
        "SELECT o.id, coalesce(t.key, ''), o.kind, o.rcpt, o.state, o.attempts,"
        " coalesce(o.last_error, ''), o.created_at FROM outbox o"
        " LEFT JOIN tickets t ON t.id = o.ticket_id"
        " WHERE o.state = 'dead' OR (o.state = 'queued' AND o.attempts > 0)"
        " ORDER BY o.id DESC LIMIT ?",
        (limit,),
    )
    return [Stuck(r[0], r[1], r[2], r[3], r[4], r[5], r[6], from_ts(r[7])) for r in cur.fetchall()]


def actions(db: Db, limit: int = 50) -> list[tuple[datetime, str, str, str, str]]:
    """The newest actions taken in the browser: when, who, what, on what, outcome."""
    cur = db.execute(
        "SELECT at, who, action, target, outcome FROM web_actions ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [(from_ts(r[0]), r[1], r[2], r[3], r[4]) for r in cur.fetchall()]
