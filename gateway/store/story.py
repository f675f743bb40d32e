"""A ticket's story: the mail that came in on it and the mail we sent the customer (and the
internal notes), newest first, for the SE who takes it over. A ticket merged into another tells
its story there too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.core.models import Action, MailKind
from gateway.store.db import Db, from_ts, marks

# What came in and counts as the conversation (not duplicates, robots, refused or relayed
# commands: the relayed answer is in the mail we sent).
_IN = (Action.ACKNOWLEDGE, Action.FOLLOW_UP, Action.ENGINEER_REPLY, Action.ATTACH)
# What we sent that the story needs: every customer-facing mail, and the internal notes.
_OUT = (
    MailKind.ACK,
    MailKind.REPLY,
    MailKind.ETA,
    MailKind.REVISED_ETA,
    MailKind.STATUS_UPDATE,
    MailKind.NOTE,
)
STORY_KINDS = frozenset(_OUT)


@dataclass(frozen=True)
class StoryMail:
    direction: str  # in | out
    at: datetime
    kind: str  # the inbound action, or the outbound kind
    raw: bytes


def family(db: Db, ticket_id: int) -> list[int]:
    """The ticket and every ticket merged into it (directly or through another merge): one
    story."""
    return [ticket_id, *merged_into(db, ticket_id)]


def of(db: Db, ids: list[int], limit: int = 20) -> list[StoryMail]:
    """The newest ``limit`` mails of the tickets ``ids`` (a :func:`family`)."""
    places = marks(ids)
    cur = db.execute(
        "SELECT * FROM ("
        " SELECT 'in' AS direction, i.received_at AS at, i.action AS kind, r.raw AS raw, i.id AS n"
        " FROM inbox i JOIN inbox_raw r ON r.inbox_id = i.id"
        f" WHERE i.ticket_id IN ({places}) AND i.state = 'processed'"
        f" AND i.action IN ({marks(_IN)})"
        " UNION ALL"
        " SELECT 'out', o.created_at, o.kind, r.raw, o.id"
        " FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id"
        f" WHERE o.ticket_id IN ({places}) AND o.kind IN ({marks(_OUT)})"
        # At the same moment our answer follows the mail it answers: it is the newer.
        ") AS mail ORDER BY at DESC, direction = 'out' DESC, n DESC LIMIT ?",
        (*ids, *_IN, *ids, *_OUT, limit),
    )
    return [StoryMail(r[0], from_ts(r[1]), r[2], bytes(r[3])) for r in cur.fetchall()]


def count(db: Db, ids: list[int]) -> int:
    """How many mails the whole story of the tickets ``ids`` has (the digest may show fewer)."""
    places = marks(ids)
    cur = db.execute(
        "SELECT"
        f" (SELECT count(*) FROM inbox WHERE ticket_id IN ({places}) AND state = 'processed'"
        f"  AND action IN ({marks(_IN)}))"
        f" + (SELECT count(*) FROM outbox WHERE ticket_id IN ({places})"
        f"  AND kind IN ({marks(_OUT)}))",
        (*ids, *_IN, *ids, *_OUT),
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


def merged_into(db: Db, ticket_id: int) -> list[int]:
    """The tickets merged into ``ticket_id`` (directly or through another merge)."""
    cur = db.execute(
        "WITH RECURSIVE m(id) AS (SELECT id FROM tickets WHERE merged_into = ?"
        " UNION SELECT t.id FROM tickets t JOIN m ON t.merged_into = m.id) SELECT id FROM m",
        (ticket_id,),
    )
    return [r[0] for r in cur.fetchall()]
