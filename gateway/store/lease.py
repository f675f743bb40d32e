"""Leadership of a PostgreSQL database: one gateway leads, the others work and take over.

Several ``support-gateway run`` processes may share one PostgreSQL database (on other hosts, for
fail-over and to share the work). All of them process stored mail and send; exactly one of them,
the leader, also watches the mailbox and runs the scheduler: it holds a session-level advisory
lock on a connection of its own. The others (workers) wait for that lock. When the leader dies
its session ends and PostgreSQL releases the lock: a process killed is seen at once (its socket
closes); a host that vanishes is seen by TCP keepalives, set on the session so the server gives
up on it within ``takeover_seconds``. A leader that cannot reach its session any more stops at
once (its lock may already be another's) and exits, so systemd restarts it as a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

import psycopg

from gateway.core.log import event
from gateway.core.waits import wait_any
from gateway.store import postgres

log = logging.getLogger("gateway.lease")

# One lock for the database (pg_advisory_lock's bigint key): "support-gateway leader".
KEY = 0x5347574C454144
HOLDER_PREFIX = "support-gateway "


def holder_name() -> str:
    """Who we are, as ``status`` shows the leader: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease:
    """``await acquire(stopping)`` returns once we lead (False if stopping came first);
    ``await watch(stopping)`` returns when the lease is lost; ``close()`` gives it up."""

    def __init__(self, url: str, takeover_seconds: float = 15.0) -> None:
        self.url = url
        self.takeover = takeover_seconds
        # Workers ask this often; the leader checks its session this often.
        self.interval = max(0.2, takeover_seconds / 10)
        self.holder = holder_name()
        self._con: psycopg.Connection[Any] | None = None
        self.leading = False

    def _connect(self) -> psycopg.Connection[Any]:
        con = postgres.connect(self.url)
        # (a parameter: a host name is text from elsewhere, not SQL)
        con.execute(
            "SELECT set_config('application_name', $1, false)", (HOLDER_PREFIX + self.holder,)
        )
        # The server drops a vanished host's session (and so the lock) within about a third of
        # the take-over time; the client side, the same for a vanished server.
        idle = max(1, int(self.takeover / 3))
        con.execute(f"SET tcp_keepalives_idle = {idle}")
        con.execute(f"SET tcp_keepalives_interval = {max(1, idle // 3)}")
        con.execute("SET tcp_keepalives_count = 3")
        return con

    def _try(self) -> bool:
        if self._con is None or self._con.closed:
            self._con = self._connect()
        row = self._con.execute("SELECT pg_try_advisory_lock($1)", (KEY,)).fetchone()
        return bool(row and row[0])

    async def try_once(self) -> bool:
        """Take the lease if nobody holds it; whether we lead."""
        try:
            got = await asyncio.to_thread(self._try)
        except psycopg.Error as exc:
            event(log, "lease-database-error", logging.WARNING, error=exc)
            self._drop()
            return False
        if got:
            self.leading = True
            event(log, "lease-acquired", holder=self.holder)
        return got

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Wait until we lead (True), or until ``stopping`` (False)."""
        told = False
        while not stopping.is_set():
            if await self.try_once():
                return True
            if not told:
                event(log, "worker", leader=await asyncio.to_thread(leader, self.url) or "?")
                told = True
            await wait_any(stopping, timeout=self.interval)
        return False

    def _check(self) -> None:
        assert self._con is not None
        self._con.execute("SELECT 1")

    async def watch(self, stopping: asyncio.Event) -> bool:
        """Return True when the lease is lost (the session gone or not answering), False when
        stopping."""
        while not stopping.is_set():
            await wait_any(stopping, timeout=self.interval)
            if stopping.is_set():
                break
            try:
                await asyncio.wait_for(asyncio.to_thread(self._check), self.takeover / 3)
            except (psycopg.Error, TimeoutError) as exc:
                self.leading = False
                event(log, "lease-lost", logging.ERROR, holder=self.holder, error=repr(exc))
                return True
        return False

    def _drop(self) -> None:
        if self._con is not None:
            with contextlib.suppress(psycopg.Error):
                self._con.close()
            self._con = None

    def close(self) -> None:
        """Give the lease up (the session ends: a worker takes over at its next look)."""
        self.leading = False
        self._drop()


def leader(url: str) -> str | None:
    """Who leads the database now (host:pid), or None."""
    with postgres.connect(url) as con:
        row = con.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND (l.classid::bigint << 32) | l.objid::bigint = $1",
            (KEY,),
        ).fetchone()
    if row is None:
        return None
    name = str(row[0])
    return name.removeprefix(HOLDER_PREFIX)
