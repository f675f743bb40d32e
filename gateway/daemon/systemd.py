"""The service manager protocol (sd_notify): READY=1, STATUS=..., WATCHDOG=1, RELOADING=1.

A datagram to ``$NOTIFY_SOCKET`` (an abstract socket when it starts with ``@``); without the
variable (not under systemd) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
from contextlib import suppress


class Notifier:
    def __init__(self) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        # Ping at half the interval the manager allows, as sd_watchdog_enabled() advises.
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() and mine else 0.0

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, *lines: str) -> None:
        if not self._address:
            return
        # A manager that went away has nothing to be told.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, suppress(OSError):
            sock.sendto("\n".join(lines).encode(), self._address)
