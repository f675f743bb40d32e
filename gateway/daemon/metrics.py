"""Prometheus metrics and ``/healthz`` on a loopback address by default.

Counters are kept as events happen; the figures that live in the database (outbox depth and
age, commitments by state, tickets) are read at scrape time through a read-only connection of
their own, so a scrape never waits on the daemon's transactions. The HTTP server is
prometheus-client's WSGI server in its own thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer

from gateway.core.models import Action, MailClass, MailKind
from gateway.pipeline.work import Stages
from gateway.store import figures
from gateway.store.db import Db, database_errors, read_once

Health = Callable[[], dict[str, Any]]


# The (class, action) pairs mail takes: people's mail every way it goes, robots' the two.
_ROBOT = (Action.SUPPRESS, Action.ATTACH)
_FIRST_SERIES: dict[MailClass, tuple[Action, ...]] = {
    MailClass.HUMAN: (
        Action.ACKNOWLEDGE,
        Action.FOLLOW_UP,
        Action.ENGINEER_REPLY,
        Action.RELAY,
        Action.REFUSED,
        Action.DUPLICATE,
        Action.ASK_FORWARDER,
    ),
    **{
        c: _ROBOT
        for c in (
            MailClass.BOUNCE,
            MailClass.AUTO_REPLY,
            MailClass.AUTOMATED,
            MailClass.LIST,
            MailClass.RECEIPT,
            MailClass.OWN,
        )
    },
    MailClass.SPAM: (Action.SPAM,),
    MailClass.MALFORMED: (Action.QUARANTINE,),
}


class Metrics:
    def __init__(self, db_path: str, now: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "gateway_messages",
            "Inbound mail by class and action",
            ["mail_class", "action"],
            registry=r,
        )
        self.sent = Counter(
            "gateway_sent", "Mail accepted by the relay, by kind", ["kind"], registry=r
        )
        self.send_failures = Counter(
            "gateway_send_failures", "Failed sends", ["failure"], registry=r
        )
        self.internal_errors = Counter(
            "gateway_internal_errors",
            "Our own errors (a bug, a template, the database), by component; the mail waits",
            ["component"],
            registry=r,
        )
        self.imap_up = Gauge("gateway_imap_up", "1 while the IMAP connection is up", registry=r)
        self.intake_lag = Gauge(
            "gateway_intake_lag_seconds", "Received to processed, last message", registry=r
        )
        r.register(_StoredFigures(db_path, now))
        self._server: WSGIServer | None = None
        # Every series a dashboard or an alert looks for exists from the start, at 0: a rate()
        # over a counter that appears only when it first counts misses that first count.
        for mail_class, actions in _FIRST_SERIES.items():
            for action in actions:
                self.messages.labels(mail_class.value, action.value)
        for kind in MailKind:
            self.sent.labels(kind.value)
        for failure in ("permanent", "temporary"):
            self.send_failures.labels(failure)
        for component in ("processor", "scheduler"):
            self.internal_errors.labels(component)
        self._thread: threading.Thread | None = None

    def count_stages(self, stages: Stages) -> None:
        """Export the processing thread's CPU time by pipeline step (read at scrape time)."""
        self.registry.register(_StageFigures(stages))

    def observe_message(self, mail_class: str, action: str, lag_seconds: float) -> None:
        self.messages.labels(mail_class or "unknown", action).inc()
        self.intake_lag.set(max(0.0, lag_seconds))

    def start(self, host: str, port: int, health: Health) -> int:
        metrics_app = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/healthz":
                report = health()
                status = "200 OK" if report["ok"] else "503 Service Unavailable"
                start_response(status, [("Content-Type", "application/json")])
                return [json.dumps(report).encode()]
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]

        self._server = make_server(
            host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="metrics-http"
        )
        self._thread.start()
        return int(self._server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not events worth a log line."""


class _StoredFigures:
    """Gauges read from the database at scrape time (read-only, its own connection)."""

    def __init__(self, db_path: str, now: Callable[[], datetime]) -> None:
        self.db_path = db_path
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            now = self.now()
            g = read_once(self.db_path, lambda db: _gauges(db, now))
        except database_errors():
            return  # no database yet, or a fresh one without tables: nothing to report
        depth = GaugeMetricFamily("gateway_outbox_depth", "Mail waiting to be sent")
        depth.add_metric([], g.out.queued)
        yield depth
        age = GaugeMetricFamily(
            "gateway_outbox_oldest_age_seconds", "Age of the oldest mail waiting to be sent"
        )
        oldest = g.out.oldest_queued
        age.add_metric([], (self.now() - oldest).total_seconds() if oldest else 0.0)
        yield age
        dates = GaugeMetricFamily(
            "gateway_commitments", "Dates told to customers", labels=["state"]
        )
        for state, count in g.dates.items():
            dates.add_metric([state], count)
        yield dates
        revised = GaugeMetricFamily("gateway_revised_etas", "Revised dates sent, ever")
        revised.add_metric([], g.revised)
        yield revised
        held = GaugeMetricFamily(
            "gateway_messages_held", "Mail waiting for a retry after an internal error"
        )
        held.add_metric([], g.held)
        yield held
        shunted = GaugeMetricFamily(
            "gateway_tickets_shunted", "Tickets the scheduler failed on, waiting for a retry"
        )
        shunted.add_metric([], g.shunted)
        yield shunted
        blocked = GaugeMetricFamily(
            "gateway_addresses_blocked", "Addresses a bounce of our mail blocks for now"
        )
        blocked.add_metric([], g.blocked)
        yield blocked


class _StageFigures:
    def __init__(self, stages: Stages) -> None:
        self.stages = stages

    def collect(self) -> Iterator[Any]:
        cpu = CounterMetricFamily(
            "gateway_stage_cpu_seconds",
            "CPU time of the processing thread by pipeline step (and recording the outcome)",
            labels=["stage"],
        )
        for stage, seconds in list(self.stages.seconds.items()):
            cpu.add_metric([stage], seconds)
        yield cpu
        taken = CounterMetricFamily(
            "gateway_stage_messages", "Messages the processing thread took through the pipeline"
        )
        taken.add_metric([], self.stages.messages)
        yield taken


@dataclass(frozen=True)
class _Gauges:
    out: figures.Outgoing
    dates: dict[str, int]
    revised: int
    held: int
    shunted: int
    blocked: int


def _gauges(db: Db, now: datetime) -> _Gauges:
    return _Gauges(
        figures.outgoing(db),
        figures.dates(db),
        figures.revised_sent(db),
        figures.inbound(db)["held"],
        figures.shunted(db),
        figures.blocked(db, now),
    )
