"""Lifecycle: start the components, run until told to stop, drain within a bound.

Start order is database, ingress, then the loops; stop is the reverse. Each loop watches one
``stopping`` event: the processor finishes the message in hand (its transaction either commits
or rolls back), the sender finishes the send in hand, the IMAP loop leaves IDLE. Whatever is
still running after ``drain_seconds`` is cancelled; nothing is lost because every step is
transactional and every side effect on the outside world happens after its commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from prometheus_client import generate_latest

from gateway.core.clock import Clock
from gateway.core.config import Config, ConfigError, load_config
from gateway.core.log import event
from gateway.daemon.ingest.imap import ImapIngest
from gateway.daemon.ingest.smtp import SmtpIngress
from gateway.daemon.metrics import Metrics
from gateway.daemon.processor import Processor
from gateway.daemon.scheduler import Scheduler
from gateway.daemon.sender import Sender
from gateway.daemon.systemd import Notifier
from gateway.mail import langid as language
from gateway.pipeline.work import Services
from gateway.store import Store
from gateway.store.db import shown
from gateway.web import WebView

if TYPE_CHECKING:  # (psycopg is imported only for a PostgreSQL database)
    from gateway.store.lease import Lease

log = logging.getLogger("gateway.app")

WORKER_LOOK = 1.0  # seconds: how often a gateway that does not lead looks for stored mail


class StartRefused(Exception):
    """The gateway will not start: every problem is listed (key or file, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))


def _unavailable(section: str, host: str, port: int, exc: OSError) -> None:
    """A listener of ours (metrics, the web view) could not start: mail matters more, so the
    daemon runs on, and says so loudly."""
    event(
        log,
        f"{section}-unavailable",
        logging.ERROR,
        host=host,
        port=port,
        error=exc,
        fix=f"free the port or set [{section}] port/enabled",
    )


class Gateway:
    def __init__(
        self,
        config: Config,
        clock: Clock,
        *,
        backfill_since: date | None = None,
        drain_seconds: float = 20.0,
        team: str = "",
    ) -> None:
        self.team = team  # of a config file that serves several (its [[teams]] name)
        self.config = config
        self.clock = clock
        self.drain_seconds = drain_seconds
        self.store = Store(config.database.target, config.database.busy_timeout_ms)
        self.services = Services.build(config, clock)
        self.metrics = (
            Metrics(config.database.target, clock.now) if config.metrics.enabled else None
        )
        if self.metrics is not None:
            self.metrics.count_stages(self.services.stages)
        self.metrics_port = 0
        self.sender = Sender(
            self.store,
            config.smtp,
            clock,
            tick=config.scheduler.tick_seconds,
            metrics=self.metrics,
        )
        self.imap: ImapIngest | None = None
        self.processor = Processor(
            self.store, self.services, on_done=self._processed, metrics=self.metrics
        )
        self.scheduler = Scheduler(
            self.store, self.services, on_queued=self.sender.wake.set, metrics=self.metrics
        )
        if config.imap.enabled:
            self.imap = ImapIngest(
                self.store,
                config.imap,
                clock,
                on_stored=self.processor.wake.set,
                backfill_since=backfill_since,
            )
        self.ingress: SmtpIngress | None = None
        if config.ingress.enabled:
            self.ingress = SmtpIngress(
                self.store,
                config.ingress,
                clock,
                on_stored=self.processor.wake.set,
                domains=config.ingress_domains,
            )
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.notifier = Notifier()
        self.config_path: str | None = None
        self.web: WebView | None = None
        self.web_port = 0
        # PostgreSQL: one gateway of those sharing the database leads (see gateway/store/lease.py).
        self.lease: Lease | None = None
        if config.database.url:
            from gateway.store.lease import Lease

            self.lease = Lease(config.database.url, config.database.takeover_seconds)
        self.lease_lost = asyncio.Event()
        self._waiting: asyncio.Task[None] | None = None

    def _processed(self) -> None:
        self.sender.wake.set()
        if self.imap is not None:
            self.imap.kick.set()

    async def start(self) -> None:
        """Start everything; raise :class:`StartRefused` (nothing started) when a template does
        not render: that would hold every customer's mail back, so refuse to run at all."""
        problems = [(f"template {n}", m) for n, m in self.services.composer.template_problems()]
        if problems:
            raise StartRefused(problems)
        # The language model takes about a second to load: before any mail is taken, not
        # inside the first message's transaction (nor counted against its acknowledgement).
        await asyncio.to_thread(language.ready)
        await self.store.start()
        if self.ingress is not None:
            await self.ingress.start()
        if self.metrics is not None:
            m = self.config.metrics
            try:
                self.metrics_port = self.metrics.start(m.host, m.port, self.health)
                event(log, "metrics-up", host=m.host, port=self.metrics_port)
            except OSError as exc:
                _unavailable("metrics", m.host, m.port, exc)
                self.metrics = None
        if self.config.web.enabled:
            await self._start_web()
        self._start_loops({"processor": self.processor.run, "sender": self.sender.run})
        if self.lease is not None and not await self.lease.try_once():
            # A worker: it processes stored mail and sends, as every gateway does; the leader
            # also watches the mailbox and runs the scheduler, and we take that over when its
            # session ends. Mail the leader stores is looked for every WORKER_LOOK seconds.
            self.processor.idle_seconds = min(WORKER_LOOK, self.processor.idle_seconds)
            self._waiting = asyncio.create_task(self._lead_later(), name="worker")
            return
        self._lead()

    async def _lead_later(self) -> None:
        assert self.lease is not None
        if await self.lease.acquire(self.stopping):
            self._lead()
            self.notifier.notify(f"STATUS={self.status_line()}")

    def _lead(self) -> None:
        """What one gateway does for all: watch the mailbox, run the scheduler."""
        loops = {"scheduler": self.scheduler.run}
        if self.imap is not None:
            loops["imap"] = self.imap.run
        self._start_loops(loops)
        if self.lease is not None:
            self._tasks.append(asyncio.create_task(self._keep_lease(), name="lease"))

    def _start_loops(
        self, loops: Mapping[str, Callable[[asyncio.Event], Coroutine[Any, Any, None]]]
    ) -> None:
        self._tasks += [
            asyncio.create_task(run(self.stopping), name=name) for name, run in loops.items()
        ]
        event(log, "started", loops=",".join(loops), database=shown(self.config.database.target))

    async def _keep_lease(self) -> None:
        """The leader checks its session; when it is gone the lock may be another's: stop at
        once (run_all returns, the process exits non-zero and systemd restarts it
        as a worker)."""
        assert self.lease is not None
        if await self.lease.watch(self.stopping):
            self.lease_lost.set()

    async def _start_web(self) -> None:
        metrics = self.metrics
        self.web = WebView(
            lambda: self.config,
            self.clock,
            self.store,
            self.health,
            self.poke,
            (lambda: generate_latest(metrics.registry)) if metrics is not None else None,
        )
        w = self.config.web
        try:
            self.web_port = await self.web.start(w.host, w.port)
            event(log, "web-up", host=w.host, port=self.web_port)
        except OSError as exc:
            _unavailable("web", w.host, w.port, exc)
            self.web = None

    def poke(self) -> None:
        """Look at everything now (tests and the demo call this after moving the clock)."""
        for e in (self.processor.wake, self.sender.wake, self.scheduler.wake):
            e.set()

    async def stop(self) -> None:
        self.stopping.set()
        if self._waiting is not None:
            await asyncio.gather(self._waiting, return_exceptions=True)
        if self.ingress is not None:
            await self.ingress.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.drain_seconds)
            for task in pending:
                event(log, "drain-timeout", logging.WARNING, task=task.get_name())
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for task in self._tasks:
                if not task.cancelled() and task.exception() is not None:
                    exc = task.exception()
                    event(log, "task-failed", logging.ERROR, task=task.get_name(), error=exc)
        if self.web is not None:
            await self.web.stop()
        if self.lease is not None:
            await asyncio.to_thread(self.lease.close)
        await self.store.stop()
        if self.metrics is not None:
            self.metrics.stop()
        event(log, "stopped")

    def reload(self) -> bool:
        """SIGHUP: re-read the config and templates; an invalid config is logged and the old
        one kept. Connection settings (IMAP, SMTP, database) take effect at the next restart."""
        if self.config_path is None:
            return False
        self.notifier.notify("RELOADING=1", "STATUS=reloading the configuration")
        try:
            config = load_config(self.config_path, self.team or None)
            services = Services.build(config, self.clock)
            broken = services.composer.template_problems()
            if broken:
                raise ConfigError([(f"template {n}", m) for n, m in broken])
        except ConfigError as exc:
            for key, msg in exc.problems:
                event(log, "reload-refused", logging.ERROR, key=key, problem=msg)
            self.notifier.notify(
                "READY=1", "STATUS=reload refused: the old configuration and templates stay"
            )
            return False
        self.config = config
        self.services = services
        self.processor.services = services
        self.scheduler.s = services
        self.scheduler.policy_changed()
        event(log, "reloaded", config=self.config_path)
        self.notifier.notify("READY=1", "STATUS=configuration reloaded")
        return True

    def health(self) -> dict[str, object]:
        """For monitors (/healthz): IMAP, SMTP and database state; ok when nothing is down.
        Called from the metrics thread: it only reads plain attributes."""
        imap = "off" if self.imap is None else ("up" if self.imap.connected.is_set() else "down")
        worker = self.lease is not None and not self.lease.leading
        if worker and imap == "down":
            imap = "standby"  # the leader watches the mailbox
        if self.metrics is not None:
            self.metrics.imap_up.set(1 if imap == "up" else 0)
        failing = self.imap.failing if self.imap is not None else ""
        if failing:  # up, but what it fetches cannot be stored (an error of ours): retried
            imap = f"degraded: mail cannot be stored: {failing}"
        database = "ok" if self.store.started else "down"
        smtp = self.sender.last_result
        if self.sender.held:  # mail of ours held back by a fault of ours, not the relay's
            smtp = f"degraded: {len(self.sender.held)} mail(s) held after internal errors"
        # Our own errors hold mail back (processing) or a ticket's dates (scheduler): degraded.
        held = self.processor.held
        processing = f"degraded: {held} message(s) held after internal errors" if held else "ok"
        shunted = self.scheduler.shunted
        scheduler = f"degraded: {shunted} ticket(s) shunted" if shunted else "ok"
        ok = (
            imap != "down"
            and not failing
            and database == "ok"
            and not smtp.startswith(("failing", "degraded"))
            and not held
            and not shunted
        )
        report: dict[str, object] = {
            "ok": ok,
            "role": "worker" if worker else "leader" if self.lease is not None else "only",
            "imap": imap,
            "smtp": smtp,
            "database": database,
            "processing": processing,
            "scheduler": scheduler,
        }
        if held or shunted:
            report["last_error"] = self.processor.last_error or self.scheduler.last_error
        return report

    def status_line(self) -> str:
        if self.lease is not None and not self.lease.leading:
            return f"worker: another gateway leads (mailbox, scheduler); {self.sender.sent} sent"
        imap = "off" if self.imap is None else ("up" if self.imap.connected.is_set() else "down")
        stored = self.imap.stored if self.imap is not None else 0
        return f"imap {imap}; {stored} stored; {self.sender.sent} sent"
