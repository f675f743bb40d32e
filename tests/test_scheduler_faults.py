"""The scheduler as robust as the processor: one failing ticket is shunted (kept with its reason,
shown, retried) and never stops the others' revised dates; a date met a moment before a pass is
never marked missed; status updates come from an indexed due time."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import status
from gateway.store import shunts, tickets
from tests.conftest import customer_mail
from tests.harness import Harness, transaction


def kinds(h: Harness, to: str | None = None) -> list[str]:
    return [m["X-Support-Kind"] for m in h.sink.messages if to is None or m["To"] == to]


async def test_a_failing_ticket_is_shunted_and_the_others_still_get_their_revised_date(
    h: Harness,
) -> None:
    await h.receive(customer_mail(1, sender="a@one.example"))  # SUP-1001
    await h.receive(customer_mail(2, sender="b@two.example"))  # SUP-1002
    build = h.scheduler.s.composer.build
    broken = True

    def failing(*args: Any, **kwargs: Any) -> Any:
        if broken and args[2].key == "SUP-1001":
            raise RuntimeError("revised_eta template exploded")
        return build(*args, **kwargs)

    h.scheduler.s.composer.build = failing  # type: ignore[method-assign]
    await h.later(timedelta(hours=24, minutes=6))  # both reply dates passed
    assert kinds(h, "b@two.example") == ["ack", "revised-eta"]
    assert kinds(h, "a@one.example") == ["ack"]
    assert h.scheduler.shunted == 1
    async with transaction(h.store) as db:
        [shunt] = shunts.listing(db)
        # The failed ticket's transaction was rolled back: its date is still open, not missed.
        missed = db.execute(
            "SELECT count(*) FROM commitments WHERE missed_at IS NOT NULL"
        ).fetchone()
    assert shunt.ticket == "SUP-1001" and shunt.attempts == 1
    assert "RuntimeError: revised_eta template exploded" in shunt.reason
    assert missed is not None and missed[0] == 2, "only SUP-1002's reply and point were missed"
    figures = status.collect(h.store.path, h.clock.now())
    assert [s["ticket"] for s in figures["shunted"]] == ["SUP-1001"]
    assert "SUP-1001: 1 attempt(s)" in status.render(figures)

    await h.later(timedelta(seconds=1))  # before its retry time: left alone, not failed again
    async with transaction(h.store) as db:
        assert shunts.attempts(db, 1) == 1

    broken = False  # fixed; the backoff passes
    await h.later(timedelta(seconds=h.scheduler.s.config.retry.initial_seconds))
    assert kinds(h, "a@one.example") == ["ack", "revised-eta"]
    assert h.scheduler.shunted == 0
    assert len([k for k in kinds(h) if k == "revised-eta"]) == 2, "each revised exactly once"


async def test_the_shunt_command_lists_and_retries(h: Harness, tmp_path: Path) -> None:
    await h.receive(customer_mail(1))
    h.scheduler.s.composer.build = _explode  # type: ignore[method-assign]
    await h.later(timedelta(hours=24, minutes=6))
    config = tmp_path / "g.toml"
    config.write_text(
        f'[imap]\nenabled = false\n[database]\npath = "{h.store.path}"\n'
        '[routing]\ndefault_se = "sam@example.com"\n'
        '[[people]]\nname = "Sam"\naddress = "sam@example.com"\nrole = "se"\n'
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", "shunt", "--config", str(config), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    listed = cli("list")
    assert listed.returncode == 0 and "SUP-1001: 1 attempt(s)" in listed.stdout
    assert "ZeroDivisionError" in listed.stdout
    assert cli("retry", "SUP-1001").returncode == 0
    assert cli("retry", "SUP-9999").returncode == 1


def _explode(*args: Any, **kwargs: Any) -> Any:
    raise ZeroDivisionError("a bug")


async def test_a_date_met_just_before_the_ticket_is_revised_is_never_marked_missed(
    h: Harness,
) -> None:
    """The pass reads the due dates, then the engineer's reply is processed, then the pass
    reaches the ticket: the reply met the dates, so nothing is missed or revised."""
    await h.receive(customer_mail(1))
    per_ticket = h.scheduler.per_ticket
    reply = customer_mail(
        "se-1",
        sender="sam@example.com",
        name="Sam Engineer",
        subject="Re: Problem number 1 [SUP-1001]",
        in_reply_to="<customer-1@acme.example>",
        body="Hello Jane, a bad index: fixed in 4.2.1.",
        headers={"Cc": "jane@acme.example"},  # an engineer's answer goes to the customer
    )

    async def reply_first(*args: Any) -> Any:
        await h.receive(reply)
        return await per_ticket(*args)

    h.scheduler.per_ticket = reply_first  # type: ignore[method-assign]
    await h.later(timedelta(hours=24, minutes=6))
    assert await h.scalar("SELECT action FROM inbox WHERE id = 2") == "engineer-reply"
    assert await h.scalar("SELECT count(*) FROM commitments WHERE missed_at IS NOT NULL") == 0
    assert "revised-eta" not in kinds(h) and "missed-alert" not in kinds(h)


@pytest.mark.sqlite_only  # reads SQLite's query plan
async def test_status_updates_come_from_an_indexed_due_time(h: Harness) -> None:
    await h.receive(customer_mail(1))  # Monday 10:00; ack written to the customer then
    async with transaction(h.store) as db:
        for sql, index in (
            (tickets.UPDATES_DUE_SQL, "tickets_update_due"),
            (tickets.UPDATE_UNKNOWN_SQL, "tickets_update_unknown"),
        ):
            args = ("2027",)[: sql.count("?")]
            plan = db.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()
            details = [str(r[3]) for r in plan]
            assert len(details) == 1 and f"USING INDEX {index}" in details[0], details
    await h.later(timedelta(minutes=1))
    # Two business days after the acknowledgement: Wednesday 10:00.
    assert str(await h.scalar("SELECT update_due_at FROM tickets")).startswith("2026-11-25T15:00")
    kinds_before = kinds(h)
    assert "status-update" not in kinds_before
