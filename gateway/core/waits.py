"""Waiting on events with a real-time bound: the loops' cadence, not business time."""

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
