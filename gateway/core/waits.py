"""Waiting: on events with a real-time bound (the loops' cadence, not business time), and how
long to wait before trying again."""

from __future__ import annotations

import asyncio


async def wait_any(*events: asyncio.Event, timeout: float) -> bool:
    """Return True when one of ``events`` is set, False after ``timeout`` seconds."""
    if any(e.is_set() for e in events):
        return True
    tasks = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
    return bool(done)


def backoff(failures: int, initial: float, cap: float) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1 for the first): ``initial``,
    doubling each time, never more than ``cap``. The one backoff of every retry: a message or
    ticket after our fault, a mail the relay deferred, the IMAP connection."""
    return float(min(initial * 2 ** min(max(failures - 1, 0), 60), cap))
