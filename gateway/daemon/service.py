"""The process systemd runs: every team's gateway in one event loop, SIGTERM and SIGINT to
drain and stop, SIGHUP to reload, the watchdog fed and the status line kept."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import signal
from typing import TYPE_CHECKING, Any

from gateway.core.log import TEAM, event
from gateway.core.waits import wait_any
from gateway.daemon.systemd import Notifier

if TYPE_CHECKING:  # (psycopg is imported only for a PostgreSQL database)
    pass
from gateway.daemon.app import Gateway

log = logging.getLogger("gateway.app")


async def _supervise(gateways: list[Gateway], notifier: Notifier) -> None:
    """Tell the service manager we are ready (IMAP up, bounded wait), then keep the watchdog
    fed and the status line current."""
    for gw in gateways:
        if gw.imap is not None and gw._waiting is None:  # (a worker has no IMAP yet)
            try:
                await asyncio.wait_for(gw.imap.connected.wait(), 30)
            except TimeoutError:
                event(log, "imap-not-ready", logging.WARNING, waited_s=30, team=gw.team)
    notifier.notify("READY=1", f"STATUS={_status(gateways)}")
    interval = notifier.watchdog_interval or 10.0
    stopping = gateways[0].stopping
    while not stopping.is_set():
        notifier.notify("WATCHDOG=1", f"STATUS={_status(gateways)}")
        await wait_any(stopping, timeout=interval)


def _status(gateways: list[Gateway]) -> str:
    if len(gateways) == 1:
        return gateways[0].status_line()
    return "; ".join(f"{gw.team}: {gw.status_line()}" for gw in gateways)


async def run_all(gateways: list[Gateway], config_path: str | None = None) -> None:
    """The daemon, for one team or for each team of a config file, in one process: start them
    all, wait for SIGTERM or SIGINT (or a lost lead, or a loop that ended), drain them all,
    return. SIGHUP reloads each. One that refuses to start stops those started before it."""
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    notifier = Notifier()
    for gw in gateways:
        gw.config_path = config_path
        gw.notifier = notifier

    def stop_asked() -> None:
        signalled.set()
        for gw in gateways:
            gw.stopping.set()  # (a worker waiting for the lease stops waiting too)

    def reload() -> None:
        for gw in gateways:
            gw.reload()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_asked)
    loop.add_signal_handler(signal.SIGHUP, reload)
    started: list[Gateway] = []
    supervisor: asyncio.Task[None] | None = None
    try:
        for gw in gateways:
            # Each team's tasks (and the threads they start) log with its name.
            with_team = contextvars.copy_context()
            with_team.run(TEAM.set, gw.team)
            await asyncio.create_task(gw.start(), context=with_team)
            started.append(gw)
        supervisor = asyncio.create_task(_supervise(gateways, notifier), name="supervisor")
        waits: list[asyncio.Task[Any]] = [asyncio.create_task(signalled.wait())]
        waits += [asyncio.create_task(gw.lease_lost.wait()) for gw in gateways]
        loops = [task for gw in gateways for task in gw._tasks]
        await asyncio.wait([*waits, *loops], return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
    finally:
        notifier.notify("STOPPING=1", "STATUS=draining")
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        for gw in started:
            gw.stopping.set()
        await asyncio.gather(*(gw.stop() for gw in started))
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
