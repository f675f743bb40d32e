"""``support-gateway status``: what needs attention now, from the database (read-only)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.store import commitments, inbox, shunts
from gateway.store.db import ts


def collect(db_path: str, now: datetime) -> dict[str, Any]:
    if not Path(db_path).exists():
        raise FileNotFoundError(f"no database at {db_path}")
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:

        def one(sql: str, *args: object) -> Any:
            return con.execute(sql, args).fetchone()[0]

        open_c = commitments.OPEN
        live = "(SELECT id FROM tickets WHERE state IN ('new', 'answered'))"
        return {
            "at": now.isoformat(),
            "tickets": dict(con.execute("SELECT state, count(*) FROM tickets GROUP BY state")),
            "commitments": {
                "overdue": one(
                    f"SELECT count(*) FROM commitments WHERE {open_c}"
                    f" AND due_at < ? AND ticket_id IN {live}",
                    ts(now),
                ),
                "due_within_24h": one(
                    f"SELECT count(*) FROM commitments WHERE {open_c} AND due_at >= ?"
                    f" AND due_at < ? AND ticket_id IN {live}",
                    ts(now),
                    ts(now + timedelta(hours=24)),
                ),
                "open": one(f"SELECT count(*) FROM commitments WHERE {open_c}"),
                "met": one("SELECT count(*) FROM commitments WHERE met_at IS NOT NULL"),
                "missed": one("SELECT count(*) FROM commitments WHERE missed_at IS NOT NULL"),
            },
            "outbox": {
                "queued": one("SELECT count(*) FROM outbox WHERE state = 'queued'"),
                "oldest_queued": one("SELECT min(created_at) FROM outbox WHERE state = 'queued'"),
                "dead": one("SELECT count(*) FROM outbox WHERE state = 'dead'"),
                "sent": one("SELECT count(*) FROM outbox WHERE state = 'sent'"),
            },
            "inbox": {
                "waiting": one("SELECT count(*) FROM inbox WHERE state = 'new'"),
                "held": one(inbox.HELD_SQL),
                "quarantined": one("SELECT count(*) FROM inbox WHERE state = 'quarantined'"),
                "spam": one("SELECT count(*) FROM inbox WHERE state = 'spam'"),
            },
            "shunted": [
                {
                    "ticket": key,
                    "attempts": attempts,
                    "since": first,
                    "last": last,
                    "retry_at": retry,
                    "reason": (reason or "").strip().splitlines()[-1],
                }
                for key, attempts, first, last, retry, reason in con.execute(shunts.LIST_SQL)
            ],
        }
    finally:
        con.close()


def render(s: dict[str, Any]) -> str:
    t, c, o, i = s["tickets"], s["commitments"], s["outbox"], s["inbox"]
    states = ", ".join(f"{k} {v}" for k, v in sorted(t.items())) or "none"
    return "\n".join(
        [
            f"status at {s['at']}",
            f"tickets:      {states}",
            f"dates:        {c['overdue']} overdue, {c['due_within_24h']} due within 24 h, "
            f"{c['open']} open; {c['met']} met, {c['missed']} missed so far",
            f"outbox:       {o['queued']} queued (oldest {o['oldest_queued'] or '-'}), "
            f"{o['dead']} dead letters, {o['sent']} sent",
            f"inbox:        {i['waiting']} waiting to be processed ({i['held']} held after"
            f" internal errors), {i['quarantined']} quarantined, {i['spam']} kept as spam",
            f"shunted:      {len(s['shunted'])} ticket(s) the scheduler failed on"
            + "".join(
                f"\n  {x['ticket']}: {x['attempts']} attempt(s) since {x['since']},"
                f" next {x['retry_at']}: {x['reason']}"
                for x in s["shunted"]
            ),
        ]
    )


def to_json(s: dict[str, Any]) -> str:
    return json.dumps(s, indent=2)
