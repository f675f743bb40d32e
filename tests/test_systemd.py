"""Running under systemd: the unit passes verify and the security bar; the daemon speaks
sd_notify (READY, STATUS, WATCHDOG, STOPPING) and reloads its config on SIGHUP."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli.sink import SmtpSink
from tests.conftest import eventually
from tests.daemon import Daemon
from tests.dovecot import PASSWORD, Dovecot
from tests.test_daemon_ops import _write_config

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "support-gateway.service"
ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(
    ANALYZE is None and not os.environ.get("CI"), reason="systemd-analyze comes with Debian systemd"
)


def _installed_copy(tmp_path: Path) -> Path:
    """The unit as installed: ExecStart pointing at this checkout's support-gateway."""
    exe = Path(sys.executable).with_name("support-gateway")
    unit = tmp_path / "support-gateway.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/support-gateway", str(exe)))
    return unit


@needs_systemd
def test_the_unit_passes_verify(tmp_path: Path) -> None:
    assert ANALYZE is not None
    run = subprocess.run(
        [ANALYZE, "verify", str(_installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [
        line for line in (run.stdout + run.stderr).splitlines() if "support-gateway.service" in line
    ]
    assert run.returncode == 0 and problems == [], run.stdout + run.stderr


@needs_systemd
def test_the_unit_meets_the_security_bar(tmp_path: Path) -> None:
    assert ANALYZE is not None
    run = subprocess.run(
        [ANALYZE, "security", "--offline=true", str(_installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", run.stdout)
    assert m, run.stdout + run.stderr
    assert float(m.group(1)) <= 2.5


pytestmark = pytest.mark.dovecot


async def test_sd_notify_and_sighup_reload(
    mailbox: Dovecot, sink: SmtpSink, tmp_path: Path, database: dict[str, str]
) -> None:
    config = _write_config(tmp_path, mailbox, sink, PASSWORD, database)
    notify = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.setblocking(False)
    messages: list[str] = []

    def drain() -> None:
        while True:
            try:
                messages.append(sock.recv(4096).decode())
            except BlockingIOError:
                return

    env = {"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "400000"}
    daemon = Daemon(config, env=env)
    await daemon.start()
    try:

        def seen(text: str, times: int = 1) -> bool:
            drain()
            return sum(text in m for m in messages) >= times

        await eventually(lambda: seen("READY=1"), timeout=20)
        await eventually(lambda: seen("WATCHDOG=1", times=3), timeout=5)
        assert any("STATUS=imap up" in m for m in messages)

        config.write_text(
            config.read_text().replace(
                'address = "support@example.com"',
                'address = "support@example.com"\ndisplay_name = "Reloaded Support"',
            )
        )
        daemon.signal(signal.SIGHUP)
        await eventually(lambda: "reloaded" in daemon.text, timeout=10)
        config.write_text(config.read_text() + "\n[imap.bogus]\nx = 1\n")
        daemon.signal(signal.SIGHUP)
        await eventually(lambda: "reload-refused" in daemon.text, timeout=10)
        assert daemon.proc is not None and daemon.proc.returncode is None, (
            "an invalid config on reload does not stop the daemon"
        )
        assert seen("RELOADING=1")

        assert await daemon.stop(20) == 0
        assert seen("STOPPING=1")
    finally:
        daemon.kill_if_running()
        sock.close()
