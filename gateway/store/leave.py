"""Leave set by mail (``#away``): the days a person is away, beside the config's."""

from __future__ import annotations

from datetime import date, datetime

from gateway.store.db import Db, ts


def add(db: Db, address: str, first: date, last: date, by: str, now: datetime) -> None:
    db.execute(
        "INSERT INTO leave (address, first_day, last_day, set_by, set_at) VALUES (?, ?, ?, ?, ?)",
        (address.lower(), first.isoformat(), last.isoformat(), by, ts(now)),
    )


def current(db: Db, today: date) -> dict[str, tuple[tuple[date, date], ...]]:
    """Each person's leave that has not ended before ``today``: (first day, last day)."""
    cur = db.execute(
        "SELECT address, first_day, last_day FROM leave WHERE last_day >= ? ORDER BY first_day",
        (today.isoformat(),),
    )
    out: dict[str, list[tuple[date, date]]] = {}
    for address, first, last in cur.fetchall():
        out.setdefault(address, []).append((date.fromisoformat(first), date.fromisoformat(last)))
    return {a: tuple(spans) for a, spans in out.items()}
