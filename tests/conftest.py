"""Fixtures: a real Dovecot (one per session), an SMTP sink per test, a fake clock, configs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config, merged, parse_config
from gateway.daemon.app import Gateway
from gateway.daemon.processor import Processor
from gateway.daemon.scheduler import Scheduler
from gateway.daemon.sender import Sender
from gateway.pipeline.work import Services
from gateway.store import Store
from tests.dovecot import PASSWORD, USER, Dovecot
from tests.harness import Harness
from tests.postgres import Postgres

NY = ZoneInfo("America/New_York")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=NY)


@contextmanager
def private_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of its own (its own auth penalties, too), removed afterwards."""
    # Not under pytest's tmp_path: the Dovecot users must be able to traverse the directory.
    base = Path(tempfile.mkdtemp(prefix="sgw-dovecot-", dir="/tmp"))
    server = Dovecot(base)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.oauth2.stop()
        shutil.rmtree(base, ignore_errors=True)


# The engines the store tests run on: both, unless GATEWAY_TEST_ENGINES names fewer (a quicker
# local run); a test marked sqlite_only is about SQLite's file (backup, migrations from old
# versions) and runs on it alone.
ENGINES = tuple(
    e for e in os.environ.get("GATEWAY_TEST_ENGINES", "sqlite,postgresql").split(",") if e
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: about SQLite's file; not run on PostgreSQL")
    # A suite stopped with SIGTERM (a CI timeout, kill) ends as if interrupted by Ctrl-C: the
    # session's fixtures are torn down, so its PostgreSQL cluster and Dovecot stop with it
    # instead of running on with their files in /tmp.
    signal.signal(signal.SIGTERM, _interrupted)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only")
        engines = [e for e in ENGINES if e == "sqlite" or not only] or ["sqlite"]
        metafunc.parametrize("engine", engines, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    server = Postgres()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """The [database] section of a test's config: a SQLite file, or a fresh PostgreSQL
    database in the suite's own cluster."""
    section = {"path": str(tmp_path / "gateway.db")}
    if engine == "postgresql":
        server: Postgres = request.getfixturevalue("postgres_server")
        section["url"] = server.database()
    return section


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    with private_dovecot() as server:
        yield server


def fresh_mailbox(server: Dovecot, clock: FakeClock) -> Dovecot:
    """Empty folders, the test's clock, no OAuth2 tokens known."""
    server.reset()
    server.clock = clock
    server.oauth2.tokens, server.oauth2.asked = {}, []
    return server


@pytest.fixture
def mailbox(dovecot: Dovecot, clock: FakeClock) -> Dovecot:
    return fresh_mailbox(dovecot, clock)


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    s = SmtpSink()
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_10)


PEOPLE = [
    {"name": "Sam Engineer", "address": "sam@example.com", "role": "se"},
    {"name": "Dana Default", "address": "dana@example.com", "role": "se"},
    {"name": "Casey Consultant", "address": "casey@example.com", "role": "sc"},
    {"name": "Robin Reseller", "address": "robin@example.com", "role": "sc"},
    {"name": "Lee Lead", "address": "lee@example.com", "role": "lead"},
]
ACCOUNTS = [
    {
        "name": "Acme",
        "domains": ["acme.example"],
        "se": "sam@example.com",
        "sc": "casey@example.com",
    },
    {"name": "Globex", "domains": ["globex.example"], "sc": "robin@example.com"},
]


def base_config(tmp_path: Path) -> dict[str, Any]:
    return {
        "support": {"address": "support@example.com", "display_name": "Example Support"},
        "imap": {"enabled": False},
        "smtp": {
            "host": "127.0.0.1",
            "port": 2525,
            "tls": "none",
            "retry_initial_seconds": 60,
            "retry_max_seconds": 600,
        },
        "database": {"path": str(tmp_path / "gateway.db")},
        "scheduler": {"tick_seconds": 0.1},
        "metrics": {"port": 0},
        "web": {"port": 0},
        "people": PEOPLE,
        "routing": {"default_se": "dana@example.com", "escalation": "lee@example.com"},
        "accounts": ACCOUNTS,
    }


def imap_section(dovecot: Dovecot, tmp_path: Path) -> dict[str, Any]:
    """The [imap] section for the suite's Dovecot (its password in a file under tmp_path)."""
    secret = tmp_path / "imap-password"
    secret.write_text(PASSWORD + "\n")
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": dovecot.port,
        "tls": "none",
        "user": USER,
        "password": {"file": str(secret)},
        "poll_seconds": 0.2,
        "backoff_initial_seconds": 0.1,
        "backoff_max_seconds": 1,
    }


def database_toml(config: Config) -> str:
    """The ``[database]`` section of a config file for the same database as ``config``."""
    lines = ["[database]", f'path = "{config.database.path}"']
    if config.database.url:
        lines.append(f'url = "{config.database.url}"')
    return "\n".join(lines) + "\n"


merge = merged  # a config mapping with another laid over it (the teams' rule)


@pytest.fixture
def make_config(tmp_path: Path, sink: SmtpSink, database: dict[str, str]) -> Callable[..., Config]:
    """Config for the daemon under test: the SMTP sink as relay, IMAP off unless asked, the
    database on the test's engine."""

    def make(dovecot: Dovecot | None = None, **over: Any) -> Config:
        data = base_config(tmp_path)
        data["database"] = dict(database)
        data["smtp"]["port"] = sink.port
        if dovecot is not None:
            data["imap"] = imap_section(dovecot, tmp_path)
        return parse_config(merge(data, over))

    return make


@asynccontextmanager
async def running(config: Config, clock: FakeClock, **kw: Any) -> AsyncIterator[Gateway]:
    gw = Gateway(config, clock, drain_seconds=5, **kw)
    await gw.start()
    try:
        if gw.imap is not None:  # mail appended from here on is new mail to the daemon
            await eventually(gw.imap.connected.is_set)
        yield gw
    finally:
        await gw.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 15.0
) -> None:
    """Wait (real time, bounded) until ``check()`` is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s: {check}")


def acks(sink: SmtpSink) -> list[Received]:
    return [m for m in sink.messages if m["X-Support-Kind"] == "ack"]


def customer_mail(
    n: int | str,
    sender: str = "jane@acme.example",
    name: str = "Jane Customer",
    subject: str | None = None,
    body: str = "Our export fails with error E42. Can you help?",
    in_reply_to: str | None = None,
    date: datetime = MONDAY_10,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "support@example.com"
    msg["Subject"] = subject if subject is not None else f"Problem number {n}"
    msg["Message-ID"] = f"<customer-{n}@{sender.split('@')[1]}>"
    msg["Date"] = format_datetime(date)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    return msg.as_bytes()


@pytest.fixture
async def h(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> AsyncIterator[Harness]:
    async with harness(make_config(), clock, sink) as running:
        yield running


@contextlib.asynccontextmanager
async def harness(config: Config, clock: FakeClock, sink: SmtpSink) -> AsyncIterator[Harness]:
    """The step-by-step harness on ``config`` (for a test that needs its own settings)."""
    store = Store(config.database.target)
    await store.start()
    services = Services.build(config, clock)
    try:
        yield Harness(
            store,
            clock,
            sink,
            Processor(store, services),
            Scheduler(store, services),
            Sender(store, config.smtp, clock),
        )
    finally:
        await store.stop()


def relay_reply(
    copy: Received,
    body: str,
    n: str = "se",
    sender: str = "sam@example.com",
    to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """An SE's mail client replying to ``copy`` (an SE copy): to its Reply-To relay address."""
    raw = customer_mail(
        n,
        sender=sender,
        name="Sam Engineer",
        subject="Re: " + copy["Subject"],
        body=body,
        in_reply_to=copy["Message-ID"],
        headers=headers,
    )
    return raw.replace(b"To: support@example.com", f"To: {to or copy['Reply-To']}".encode())


def answered_inline(copy: Received, answers: dict[str, str]) -> str:
    """The SE's reply body: the copy quoted by the mail client, an answer under some points."""
    quoted = "\n".join("> " + line for line in copy.text().splitlines())
    for point, answer in answers.items():
        quoted = quoted.replace(f"> > {point}\n", f"> > {point}\n{answer}\n")
    return "Hi Jane,\n\nOn Mon, Support wrote:\n" + quoted
