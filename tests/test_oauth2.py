"""XOAUTH2 for real, as Microsoft 365 and Gmail require it for both IMAP and SMTP: Dovecot's
oauth2 passdb asking an introspection endpoint on loopback, and the SMTP sink offering
AUTH XOAUTH2. An expired token is refreshed through the configured command; a refused one is a
clear error that shows no secret."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.daemon.app import Gateway
from tests.conftest import (
    customer_mail,
    database_toml,
    eventually,
    fresh_mailbox,
    private_dovecot,
    running,
)
from tests.dovecot import USER, Dovecot

pytestmark = pytest.mark.dovecot


@pytest.fixture
def mailbox(clock: FakeClock) -> Iterator[Dovecot]:
    """These tests refuse tokens on purpose, and Dovecot then delays every later login from the
    same address (its auth penalty: 4, 8, then 15 s, successful logins included). A server of
    each test's own keeps that away from the other tests."""
    with private_dovecot() as server:
        yield fresh_mailbox(server, clock)


# A token helper as ops would have one (e.g. a wrapper around the provider's refresh flow):
# each run prints the next token of its sequence; the first one has expired.
HELPER = """\
import sys
from pathlib import Path
counter = Path(sys.argv[1])
n = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(n))
print(f"{sys.argv[2]}-{'expired' if n == 1 else 'fresh'}-{n}")
"""


def _oauth2_config(
    tmp_path: Path, mailbox: Dovecot, make_config: Callable[..., Config]
) -> tuple[Config, Path]:
    helper = tmp_path / "token-helper.py"
    helper.write_text(HELPER)

    def command(name: str) -> str:
        return f"{sys.executable} {helper} {tmp_path / (name + '.count')} {name}"

    config = make_config(
        mailbox,
        imap={"auth": "xoauth2", "oauth2_token": {"command": command("imap")}},
        smtp={"user": "relay@example.com", "auth": "xoauth2"}
        | {"oauth2_token": {"command": command("smtp")}},
    )
    return config, tmp_path


async def test_xoauth2_on_imap_and_smtp_with_an_expired_token_refreshed(
    mailbox: Dovecot,
    sink: SmtpSink,
    clock: FakeClock,
    make_config: Callable[..., Config],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailbox.oauth2.tokens = {"imap-fresh-2": USER}
    sink.oauth2_tokens = {"smtp-fresh-2": "relay@example.com"}
    config, counts = _oauth2_config(tmp_path, mailbox, make_config)
    async with running(config, clock) as gw:
        mailbox.append(customer_mail(1))
        await sink.wait_for(2)
        assert gw.imap is not None and gw.imap.sessions == 1
        mailbox.append(customer_mail(2, sender="ann@acme.example"))
        await sink.wait_for(4)
    # Each server refused the expired token once; the command ran again and the fresh token
    # was used from then on (kept between logins, not fetched for every connection).
    assert mailbox.oauth2.asked[:2] == ["imap-expired-1", "imap-fresh-2"]
    assert set(mailbox.oauth2.asked[2:]) <= {"imap-fresh-2"}
    assert sink.oauth2_seen[:2] == ["smtp-expired-1", "smtp-fresh-2"]
    assert set(sink.oauth2_seen[2:]) <= {"smtp-fresh-2"}
    assert (counts / "imap.count").read_text() == "2"
    assert (counts / "smtp.count").read_text() == "2"
    assert [m["X-Support-Kind"] for m in sink.messages].count("ack") == 2
    for token in ("imap-expired-1", "imap-fresh-2", "smtp-expired-1", "smtp-fresh-2"):
        assert token not in caplog.text, "a token reached the log"


async def test_check_config_names_a_refused_token_and_shows_no_secret(
    mailbox: Dovecot, sink: SmtpSink, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    mailbox.oauth2.tokens = {}  # the provider knows none of them: access was revoked
    sink.oauth2_tokens = {}
    config, _ = _oauth2_config(tmp_path, mailbox, make_config)
    toml = tmp_path / "gateway.toml"
    toml.write_text(_toml(config))
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", "check-config", "--config", str(toml), "--connect"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert (
        f"imap: FAILED: TokenRefused: IMAP server 127.0.0.1 refused the OAuth2 token of {USER}"
        in run.stderr
    )
    assert "smtp: FAILED: TokenRefused: SMTP relay 127.0.0.1 refused the OAuth2 token of" in (
        run.stderr
    )
    assert "also after fetching a new one" in run.stderr
    assert "expired" not in run.stdout + run.stderr and "fresh" not in run.stdout + run.stderr
    assert mailbox.oauth2.asked == ["imap-expired-1", "imap-fresh-2"], "refreshed once"


async def test_the_daemon_logs_a_refused_token_and_shows_no_secret(
    mailbox: Dovecot,
    sink: SmtpSink,
    clock: FakeClock,
    make_config: Callable[..., Config],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailbox.oauth2.tokens = {}
    config, _ = _oauth2_config(tmp_path, mailbox, make_config)
    gw = Gateway(config, clock, drain_seconds=5)
    await gw.start()  # not running(): that waits for an IMAP login that cannot happen
    try:
        assert gw.imap is not None
        await eventually(lambda: "refused the OAuth2 token" in caplog.text, timeout=20)
        assert not gw.imap.connected.is_set()
    finally:
        await gw.stop()
    assert "imap-down" in caplog.text
    assert "-expired-" not in caplog.text and "-fresh-" not in caplog.text


def _toml(config: Config) -> str:
    """The config as a TOML file, for the command line (only what these tests set)."""
    c: Any = config

    def secret(s: Any) -> str:
        return f'{{ command = "{s.command}" }}' if s.command else f'{{ file = "{s.file}" }}'

    return "\n".join(
        [
            "[imap]",
            f'host = "{c.imap.host}"',
            f"port = {c.imap.port}",
            'tls = "none"',
            f'user = "{c.imap.user}"',
            'auth = "xoauth2"',
            f"oauth2_token = {secret(c.imap.oauth2_token)}",
            "[smtp]",
            f'host = "{c.smtp.host}"',
            f"port = {c.smtp.port}",
            'tls = "none"',
            f'user = "{c.smtp.user}"',
            'auth = "xoauth2"',
            f"oauth2_token = {secret(c.smtp.oauth2_token)}",
            database_toml(c).rstrip(),
            "[routing]",
            'default_se = "sam@example.com"',
            "[[people]]",
            'name = "Sam Engineer"',
            'address = "sam@example.com"',
            'role = "se"',
        ]
    )
