"""Metrics, /healthz and log formats."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.core.log import JournalFormatter, JsonFormatter, event, setup
from gateway.mail.inbound import parse
from tests.conftest import customer_mail, eventually, running
from tests.dovecot import Dovecot

CORPUS = Path(__file__).parent / "data" / "corpus"


def fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.dovecot
async def test_metrics_and_health(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    async with running(config, clock) as gw:
        mailbox.append(customer_mail(1))
        mailbox.append(customer_mail(2, headers={"Auto-Submitted": "auto-replied"}))
        await sink.wait_for(2)
        await asyncio.sleep(0.3)
        status, body = await asyncio.to_thread(fetch, gw.metrics_port, "/healthz")
        assert status == 200
        assert json.loads(body) == {
            "ok": True,
            "role": "leader" if gw.lease is not None else "only",
            "imap": "up",
            "smtp": "ok",
            "database": "ok",
            "processing": "ok",
            "scheduler": "ok",
        }
        status, text = await asyncio.to_thread(fetch, gw.metrics_port, "/metrics")
        assert status == 200
        assert 'gateway_messages_total{action="acknowledge",mail_class="human"} 1.0' in text
        assert 'gateway_messages_total{action="suppress",mail_class="auto-reply"} 1.0' in text
        assert 'gateway_sent_total{kind="ack"} 1.0' in text
        # Series that have not counted yet are there, at 0 (a rate() sees their first count).
        assert 'gateway_sent_total{kind="revised-eta"} 0.0' in text
        assert 'gateway_messages_total{action="suppress",mail_class="bounce"} 0.0' in text
        assert 'gateway_send_failures_total{failure="permanent"} 0.0' in text
        assert 'gateway_internal_errors_total{component="scheduler"} 0.0' in text
        assert "gateway_outbox_depth 0.0" in text
        assert 'gateway_commitments{state="open"}' in text
        assert "gateway_imap_up 1.0" in text
        # Where the processing thread's CPU goes, by pipeline step, for both mails.
        assert "gateway_stage_messages_total 2.0" in text
        compose = re.search(
            r'^gateway_stage_cpu_seconds_total\{stage="compose"\} (\S+)', text, re.M
        )
        assert compose is not None and float(compose[1]) > 0
        assert 'gateway_stage_cpu_seconds_total{stage="record"}' in text

        # Our own fault (here a template that raises) holds the mail and says so.
        def broken(*args: object, **kwargs: object) -> object:
            raise RuntimeError("template exploded")

        gw.services.composer.build = broken  # type: ignore[method-assign]
        mailbox.append(customer_mail(3, sender="ann@acme.example"))
        await eventually(lambda: gw.processor.held == 1)
        status, body = await asyncio.to_thread(fetch, gw.metrics_port, "/healthz")
        health = json.loads(body)
        assert status == 503 and health["processing"].startswith("degraded: 1 message(s) held")
        assert "RuntimeError: template exploded" in health["last_error"]
        status, text = await asyncio.to_thread(fetch, gw.metrics_port, "/metrics")
        assert 'gateway_internal_errors_total{component="processor"} 1.0' in text
        assert "gateway_messages_held 1.0" in text
        assert len(sink.messages) == 2, "nothing sent, nothing quarantined"
        await asyncio.to_thread(mailbox.kick_and_stop)
        await asyncio.sleep(1.5)
        status, body = await asyncio.to_thread(fetch, gw.metrics_port, "/healthz")
        assert status == 503 and json.loads(body)["imap"] == "down"
        await asyncio.to_thread(mailbox.start)


def _record() -> logging.LogRecord:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("gateway.test-log")
    keep = Keep()
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    event(logger, "message", logging.WARNING, ticket="SUP-1001", reason="a b")
    logger.removeHandler(keep)
    return records[0]


def test_json_and_journal_formats() -> None:
    record = _record()
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "message" and line["ticket"] == "SUP-1001"
    assert line["level"] == "warning" and line["reason"] == "a b"
    journal = JournalFormatter("%(message)s").format(record)
    assert journal == '<4>gateway.test-log message ticket=SUP-1001 reason="a b"'


async def test_a_taken_metrics_port_does_not_stop_the_mail(
    sink: SmtpSink,
    clock: FakeClock,
    make_config: Callable[..., Config],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = make_config(metrics={"port": port})
    try:
        async with running(config, clock) as gw:
            assert gw.metrics is None
            assert "metrics-unavailable" in caplog.text
    finally:
        taken.close()


@pytest.mark.parametrize("level", ["info", "debug"])
def test_mail_parser_complaints_about_a_mail_never_reach_the_log(
    level: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """mail-parser's lines are about the customer's mail, and at debug they are the mail (its
    header values): never logged, at any level; what matters is recorded with the message."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    try:
        setup(level)
        parse((CORPUS / "bounce-rfc3464-postfix.eml").read_bytes())  # a part it does not handle
        event(logging.getLogger("gateway.test-log"), "marker")
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        logging.getLogger("mailparser").setLevel(logging.NOTSET)
    err = capsys.readouterr().err
    assert "marker" in err
    assert "not handled" not in err, "mail-parser's line about the mail's part"
