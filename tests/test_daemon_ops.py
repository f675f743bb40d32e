"""The daemon as ops run it: outages, polling, backfill, SIGTERM, check-config --connect."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from tests.conftest import acks, customer_mail, eventually, running
from tests.daemon import Daemon
from tests.dovecot import Dovecot

pytestmark = pytest.mark.dovecot
ROOT = Path(__file__).resolve().parent.parent


async def test_dovecot_restart_is_survived(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox)
    async with running(config, clock) as gw:
        assert gw.imap is not None
        mailbox.append(customer_mail(1))
        await sink.wait_for(2)
        await asyncio.to_thread(mailbox.restart)
        await eventually(lambda: gw.imap.sessions == 2)  # type: ignore[union-attr]
        mailbox.append(customer_mail(2))
        await sink.wait_for(4)
        await eventually(lambda: mailbox.count("Processed") == 2)
    assert sorted(m["In-Reply-To"] for m in acks(sink)) == [
        "<customer-1@acme.example>",
        "<customer-2@acme.example>",
    ]


async def test_polling_without_idle_and_seen_flag_without_folder(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    config = make_config(mailbox, imap={"idle": False, "processed_folder": ""})
    async with running(config, clock) as gw:
        assert gw.imap is not None
        mailbox.append(customer_mail(1))
        await sink.wait_for(2)

        def seen() -> bool:
            with mailbox.client() as c:
                c.select_folder("INBOX")
                return len(c.search(["SEEN"])) == 1

        await eventually(seen)
    assert mailbox.count("INBOX") == 1 and mailbox.count("Processed") == 0
    assert len(acks(sink)) == 1


async def test_backfill_takes_mail_since_a_date(
    mailbox: Dovecot, sink: SmtpSink, clock: FakeClock, make_config: Callable[..., Config]
) -> None:
    mailbox.clock = FakeClock(clock.now() - timedelta(days=30))
    mailbox.append(customer_mail("too-old"))
    mailbox.clock = FakeClock(clock.now() - timedelta(hours=1))
    mailbox.append(customer_mail("waited"))
    mailbox.clock = clock
    config = make_config(mailbox)
    async with running(config, clock, backfill_since=date(2026, 11, 20)):
        await sink.wait_for(2)
        await eventually(lambda: mailbox.count("Processed") == 1)
    assert [m["In-Reply-To"] for m in acks(sink)] == ["<customer-waited@acme.example>"]
    assert mailbox.count("INBOX") == 1


def _write_config(
    tmp_path: Path,
    mailbox: Dovecot,
    sink: SmtpSink,
    password: str,
    database: dict[str, str] | None = None,
) -> Path:
    """A config file for a daemon subprocess; its database on the test's engine."""
    (tmp_path / "imap-password").write_text(password)
    database = database or {"path": str(tmp_path / "gateway.db")}
    url = f'url = "{database["url"]}"' if database.get("url") else ""
    path = tmp_path / "gateway.toml"
    path.write_text(f"""
[support]
address = "support@example.com"
[imap]
host = "127.0.0.1"
port = {mailbox.port}
tls = "none"
user = "support"
password.file = "{tmp_path / "imap-password"}"
[smtp]
host = "127.0.0.1"
port = {sink.port}
tls = "none"
[database]
path = "{database["path"]}"
{url}
[scheduler]
tick_seconds = 0.2
[metrics]
port = 0
[web]
port = 0
[routing]
default_se = "dana@example.com"
[[people]]
name = "Dana Default"
address = "dana@example.com"
role = "se"
""")
    return path


async def test_sigterm_drains_and_exits_zero_without_logging_secrets(
    mailbox: Dovecot, sink: SmtpSink, tmp_path: Path, database: dict[str, str]
) -> None:
    from tests.dovecot import PASSWORD

    config = _write_config(tmp_path, mailbox, sink, PASSWORD, database)
    daemon = Daemon(config)
    await daemon.start()
    try:
        await eventually(lambda: "imap-up" in daemon.text, timeout=20)
        # Real time here: INTERNALDATE is the server's clock, as in production.
        mailbox.clock = None
        mailbox.append(customer_mail(1, sender="li@globex.example"))
        await sink.wait_for(2, timeout=20)
        code = await daemon.stop(20)
    finally:
        daemon.kill_if_running()
    text = daemon.text
    assert code == 0, text
    assert "action=acknowledge" in text and "stopped" in text
    assert PASSWORD not in text


async def test_debug_logs_carry_no_mail_text_and_no_relay_token(
    mailbox: Dovecot, sink: SmtpSink, tmp_path: Path
) -> None:
    """log.level = "debug" is for finding our faults, not a copy of the mail: with the SMTP
    ingress taking a customer's mail and an SE's relay reply, no body line, subject or relay
    token is in the journal (aiosmtpd logs every DATA line at debug; the libraries stay at
    info)."""
    import socket

    from tests.conftest import relay_reply
    from tests.dovecot import PASSWORD

    with socket.socket() as probe:  # a free port for the ingress (its config needs one)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _write_config(tmp_path, mailbox, sink, PASSWORD)
    config.write_text(
        config.read_text()
        + f'[log]\nlevel = "debug"\n[ingress]\nenabled = true\nprotocol = "smtp"\nport = {port}\n'
    )
    daemon = Daemon(config)
    await daemon.start()
    try:
        await eventually(lambda: "ingress-up" in daemon.text, timeout=20)
        mail = customer_mail(
            1,
            sender="li@globex.example",
            subject="Quarterly figures XSUBJECTX",
            body="Our ledger shows XBODYX on every line. Why?",
        )
        await _deliver(mail, port, "li@globex.example")
        await sink.wait_for(2, timeout=20)
        copy = next(m for m in sink.messages if m["X-Support-Kind"] == "se-copy")
        token = str(copy["Reply-To"]).split("@")[0].rsplit(".", 1)[-1]
        reply = relay_reply(copy, "Please restart the XREPLYX service.", sender="dana@example.com")
        await _deliver(reply, port, "dana@example.com")
        await sink.wait_for(3, timeout=20)
        await daemon.stop(20)
    finally:
        daemon.kill_if_running()
    text = daemon.text
    assert "action=relay" in text, text[-3000:]
    for secret in ("XSUBJECTX", "XBODYX", "XREPLYX", token):
        assert secret not in text, secret


async def _deliver(raw: bytes, port: int, sender: str) -> None:
    """Hand ``raw`` to the SMTP ingress, as the MTA would, for its To and Cc."""
    import email
    from email.utils import getaddresses

    import aiosmtplib

    msg = email.message_from_bytes(raw)
    rcpts = [a for _, a in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", []))]
    await aiosmtplib.send(raw, sender=sender, recipients=rcpts, hostname="127.0.0.1", port=port)


def check_connect(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", "--config", str(config), "--connect"],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_check_config_connect(mailbox: Dovecot, sink: SmtpSink, tmp_path: Path) -> None:
    from tests.dovecot import PASSWORD

    good = _write_config(tmp_path, mailbox, sink, PASSWORD)
    run = await asyncio.to_thread(check_connect, good)
    assert run.returncode == 0, run.stderr
    assert "imap: logged in" in run.stdout and "smtp: connected" in run.stdout
    bad = _write_config(tmp_path, mailbox, sink, "wrong-password")
    run = await asyncio.to_thread(check_connect, bad)
    assert run.returncode == 1
    assert "imap: FAILED" in run.stderr and "wrong-password" not in run.stderr + run.stdout


@pytest.mark.sqlite_only  # another process holds SQLite's write lock
async def test_a_locked_database_is_logged_and_retried_without_loss(
    mailbox: Dovecot,
    sink: SmtpSink,
    clock: FakeClock,
    make_config: Callable[..., Config],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import sqlite3

    config = make_config(mailbox, database={"busy_timeout_ms": 50})
    async with running(config, clock):
        locker = sqlite3.connect(config.database.path, isolation_level=None, timeout=0.05)

        def lock() -> bool:  # another process takes the database (when the daemon lets go)
            try:
                locker.execute("BEGIN EXCLUSIVE")
                return True
            except sqlite3.OperationalError:
                return False

        await eventually(lock, timeout=10)
        try:
            mailbox.append(customer_mail(1))
            await eventually(lambda: "database-error" in caplog.text)
            await asyncio.sleep(1)
            assert sink.messages == []
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        await sink.wait_for(2)
        await eventually(lambda: mailbox.count("Processed") == 1)
    assert [m["In-Reply-To"] for m in acks(sink)] == ["<customer-1@acme.example>"]
    assert "Traceback" not in caplog.text
