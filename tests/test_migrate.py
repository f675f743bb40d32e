"""``support-gateway migrate --to postgresql://...``: a SQLite installation's state copied into
PostgreSQL, checked by counts, and the gateway going on from it there."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import parse_config
from tests.conftest import base_config, customer_mail, harness, relay_reply
from tests.postgres import Postgres


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=120
    )


async def test_migrate_copies_everything_and_the_gateway_goes_on_from_it(
    postgres_server: Postgres, sink: SmtpSink, clock: FakeClock, tmp_path: Path
) -> None:
    data = base_config(tmp_path)
    data["smtp"]["port"] = sink.port
    on_sqlite = parse_config(data)
    async with harness(on_sqlite, clock, sink) as h:
        await h.receive(customer_mail(1))  # Jane: answered by Sam, her reply date met
        copy = next(m for m in h.sink.messages if m["X-Support-Kind"] == "se-copy")
        await h.receive(relay_reply(copy, "Fixed in 4.2: please upgrade.", n="se-1"))
        await h.receive(customer_mail(2, sender="bob@globex.example"))  # Bob: not answered
        tickets_before = await h.scalar("SELECT count(*) FROM tickets")
        acks_before = len([m for m in sink.messages if m["X-Support-Kind"] == "ack"])
    toml = tmp_path / "gateway.toml"
    toml.write_text(
        f'[imap]\nenabled = false\n[database]\npath = "{on_sqlite.database.path}"\n'
        '[routing]\ndefault_se = "dana@example.com"\n[[people]]\nname = "Dana"\n'
        'address = "dana@example.com"\nrole = "se"\n'
    )

    url = postgres_server.database()
    run = await asyncio.to_thread(cli, "migrate", "--config", str(toml), "--to", url)
    assert run.returncode == 0, run.stderr
    copied = dict(line.split() for line in run.stdout.splitlines()[1:-1])
    assert copied["tickets"] == "2" and copied["commitments"] != "0", run.stdout
    assert int(copied["inbox"]) == 3 and int(copied["outbox"]) >= 4
    again = await asyncio.to_thread(cli, "migrate", "--config", str(toml), "--to", url)
    assert again.returncode == 1 and "already holds tickets" in again.stderr, "only into empty"

    on_postgres = parse_config({**data, "database": {"url": url}})
    async with harness(on_postgres, clock, sink) as h:
        assert await h.scalar("SELECT count(*) FROM tickets") == tickets_before
        # Jane writes again: her ticket, found by its thread in the copy; no new ticket, no ack.
        await h.receive(
            customer_mail(
                3,
                subject="Re: Problem number 1 [SUP-1001]",
                in_reply_to="<customer-1@acme.example>",
            )
        )
        assert await h.scalar("SELECT ticket_id FROM inbox WHERE id = 4") == 1
        # Bob's reply date (Tuesday 10:00) passes unanswered: one revised date, from the copy.
        await h.later(timedelta(hours=24, minutes=6))
        await h.later(timedelta(minutes=1))
        revised = [m for m in sink.messages if m["X-Support-Kind"] == "revised-eta"]
        assert [m["To"] for m in revised] == ["bob@globex.example"]
        # A new customer gets the next key: the ids continue after the copied ones.
        await h.receive(customer_mail(4, sender="ann@initech.example"))
        assert await h.scalar("SELECT key FROM tickets ORDER BY id DESC LIMIT 1") == "SUP-1003"
    acks = [m for m in sink.messages if m["X-Support-Kind"] == "ack"]
    assert len(acks) == acks_before + 1, "nobody acknowledged twice"
