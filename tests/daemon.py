"""The real daemon as a subprocess, for the tests, the chaos harness and the benchmark."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path


class Daemon:
    """``support-gateway run`` in a child process. Its output goes to ``log`` (a file), or,
    without one, is collected line by line in :attr:`lines`."""

    def __init__(
        self,
        config: Path,
        *args: str,
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.args = args
        self.log = log
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    @property
    def text(self) -> str:
        return "".join(self.lines)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        command = (sys.executable, "-m", "gateway", "run", "--config", str(self.config))
        if self.log is None:
            self.proc = await asyncio.create_subprocess_exec(
                *command,
                *self.args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=self.env,
            )
            self._reader = asyncio.create_task(self._pump())
            return
        out = await asyncio.to_thread(open, self.log, "ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *command, *self.args, stdout=out, stderr=out, env=self.env
            )
        finally:
            out.close()

    async def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(line.decode())

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; the exit status."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader is not None:
            await self._reader
        assert self.proc.returncode is not None
        return self.proc.returncode

    def kill_if_running(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
