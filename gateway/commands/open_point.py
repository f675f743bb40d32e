"""``#open <n>``: the customer's point n was recorded as answered but is not: it is open again,
due when a missed date would be (``sla.revised_business_days``), a date of ours the customer
was not told (when it passes the SE is alerted, the customer gets no "we said"). Telling the
customer a date for it is ``#eta``'s."""

from __future__ import annotations

from gateway.commands.base import Acting, Command, check_numbers, numbered, numbers, points_now
from gateway.core.models import DateKind
from gateway.store import commitments


def run(a: Acting, arg: str) -> None:
    s, t = a.s, a.fresh()
    for n, point in numbered(a, arg):
        still = {c.point: c for c in commitments.open_for(a.db, t.id) if c.kind == DateKind.POINT}
        if point in still:
            a.done.append(f"point {n} is open already")
            continue
        due = s.policy.revised(a.now)
        words = s.when(due, t)
        commitments.make(
            a.db,
            t.id,
            DateKind.POINT,
            due,
            words,
            a.now,
            made_by=a.sender,
            point=point,
            promised=False,
        )
        a.done.append(
            f"point {n} is open again, due {a.staff_when(due)} (internal: the customer is not told)"
        )
    a.done.append(points_now(a))


COMMAND = Command(
    "open",
    "#open <n>",
    run,
    needs_arg=True,
    syntax=numbers,
    check=check_numbers,
)
