"""A real PostgreSQL cluster on loopback, started by the test suite (as Dovecot is): Debian's
``postgresql`` package, a cluster of its own in a temporary directory, trust authentication on
127.0.0.1 only, one fresh database per test."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.dovecot import free_port

SUPERUSER = "gateway"


def _bindir() -> Path:
    """Debian's PostgreSQL programs (the newest installed major version)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: run scripts/setup --test (it installs Debian's"
            " postgresql package)"
        )
    return Path(found[-1]).parent


class Postgres:
    """``start()`` runs initdb and the server; ``database()`` makes a fresh database and gives
    its URL; ``stop()`` ends the server and removes the cluster."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="sgw-postgres-", dir="/tmp"))
        self.data = self.base / "data"
        self.port = free_port()
        self.bin = _bindir()
        self._n = itertools.count(1)
        self._server: subprocess.Popen[bytes] | None = None
        # PostgreSQL will not run as root: as root (CI), the package's postgres user runs it.
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = "postgres"
            pw = pwd.getpwnam(user)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", user, "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True)

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self._log = open(self.base / "server.log", "wb")  # noqa: SIM115 (lives with the server)
        self._server = subprocess.Popen(
            [
                *self._as,
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.base),
                # A test cluster: nothing here must survive a power cut.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if self._server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "PostgreSQL did not start: "
                        + (self.base / "server.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = f"test_{next(self._n)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.terminate()
            try:
                self._server.wait(30)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
            self._server = None
            self._log.close()
        shutil.rmtree(self.base, ignore_errors=True)
