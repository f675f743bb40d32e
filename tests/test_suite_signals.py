"""The suite's own servers stop with it: a run stopped with SIGTERM (a CI timeout, ``kill``)
tears down its PostgreSQL cluster and Dovecot, leaving no server running and no files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.dovecot import Dovecot
from tests.postgres import Postgres

PROBE = "SGW_SIGNAL_PROBE"


@pytest.mark.skipif(
    not os.environ.get(PROBE), reason="run by the test below, in a pytest of its own"
)
def test_probe_holds_the_servers(postgres_server: Postgres, dovecot: Dovecot) -> None:
    Path(os.environ[PROBE]).write_text(f"{postgres_server.base}\n{dovecot.base}\n")
    time.sleep(120)


def test_a_suite_stopped_with_sigterm_stops_its_servers(tmp_path: Path) -> None:
    said = tmp_path / "bases"
    bases: list[Path] = []
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "probe", __file__],
        env={**os.environ, PROBE: str(said)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60  # a protocol timer: the servers' start-up
        while not said.exists() or len(said.read_text().splitlines()) < 2:
            assert run.poll() is None, run.stdout.read() if run.stdout else ""
            assert time.monotonic() < deadline, "the probe never held its servers"
            time.sleep(0.1)
        bases += [Path(line) for line in said.read_text().splitlines()]
        assert all(base.exists() for base in bases)
        run.send_signal(signal.SIGTERM)
        output = run.communicate(timeout=60)[0].decode()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    left = [base for base in bases if base.exists() or str(base) in running]
    for base in left:  # (this test failing: what the probe left is not left to run on)
        subprocess.run(["pkill", "-9", "-f", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)
    assert "stopped by signal 15" in output
    assert not left, output
