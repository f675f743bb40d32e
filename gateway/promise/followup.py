"""What an SC follows up: their accounts' board (the store's :mod:`gateway.store.board`) as
titled lists, one line a ticket's date: the SC's digest and the SC's web home page say the
same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from gateway.core.models import Ticket
from gateway.store.board import Board, Dated
from gateway.text.speech import Owed


def sections(
    name_of: Callable[[str], str], when: Callable[[datetime], str], b: Board
) -> list[dict[str, Any]]:
    """The board as titled lists of rows, those with rows only, people named by ``name_of``
    and dates said by ``when``."""

    def row(t: Ticket, detail: str) -> dict[str, str]:
        customer = t.customer_address
        return {"key": t.key, "account": t.account, "customer": customer, "subject": t.subject,
                "detail": detail}  # fmt: skip

    def dated(xs: list[Dated], how: Callable[[Dated], str]) -> list[dict[str, str]]:
        # One line for the dates of a ticket due together (a reply and the points it answers).
        together: dict[tuple[int, datetime, str], list[Dated]] = {}
        for x in xs:
            together.setdefault((x.ticket.id, x.date.due_at, x.date.owner), []).append(x)
        rows = []
        for group in together.values():
            x = group[0]
            kinds = [y.date.kind for y in group if not y.date.point]
            what = Owed(kinds, [y.date.point for y in group if y.date.point])
            rows.append(row(x.ticket, f"{what} {how(x)} ({name_of(x.date.owner or x.ticket.se)})"))
        return rows

    listed = [
        ("New tickets", [row(t, f"with {name_of(t.se)}") for t in b.new]),
        ("Due today", dated(b.due, lambda x: f"by {when(x.date.due_at)}")),
        (
            "At risk: revised once already, a second miss is escalated",
            dated(b.at_risk, lambda x: f"now by {when(x.date.due_at)}"),
        ),
        (
            "Missed (the customer was sent a revised date)",
            dated(b.missed, lambda x: f"due {when(x.date.due_at)}, missed"),
        ),
        ("Resolved", [row(t, f"by {name_of(t.se)}") for t in b.resolved]),
        (
            "Customers who sound unhappy with us",
            [row(t, f"\u201c{t.at_risk}\u201d") for t in b.unhappy],
        ),
    ]
    return [{"title": title, "rows": rows} for title, rows in listed if rows]
