"""``#answered <n>``: the customer's point n was answered (by phone, in another mail, or in
words the gateway did not read as its answer): its date is met."""

from __future__ import annotations

from gateway.commands.base import Acting, Command, check_numbers, numbered, numbers, points_now
from gateway.core.models import DateKind
from gateway.store import commitments


def run(a: Acting, arg: str) -> None:
    t = a.fresh()
    for n, point in numbered(a, arg):
        still = {c.point: c for c in commitments.open_for(a.db, t.id) if c.kind == DateKind.POINT}
        if point in still:
            commitments.meet_one(a.db, still[point].id, a.now)
            a.done.append(f"point {n} recorded as answered")
        else:
            a.done.append(f"point {n} was already recorded as answered")
    a.done.append(points_now(a))


COMMAND = Command(
    "answered",
    "#answered <n>",
    run,
    needs_arg=True,
    syntax=numbers,
    check=check_numbers,
    sc_may=True,
)
