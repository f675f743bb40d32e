"""The chaos harness: the real daemon, a real Dovecot, a real SMTP sink, and things going wrong.

It streams customer mail (new threads and follow-ups) into the mailbox while it SIGKILLs the
daemon at random instants and restarts it, restarts Dovecot, makes the relay refuse connections
and then answer 4xx for a while, and refuses one recipient with 5xx for the whole run. Then it
waits for the dust to settle and checks what users care about: nothing lost, no duplicate
acknowledgement beyond the window between a relay's 250 and the commit that records it (at most
one per kill), dead letters with reasons, and a sound database. Tickets whose dates were missed
before the run (``--overdue``) must each get one revised date, whatever is killed meanwhile.

``scripts/chaos`` runs the full version (200 kills over 2,000 messages by default); the test
suite runs a short one. With ``--engine postgresql --gateways N`` it runs N daemons on one
PostgreSQL database (a cluster of its own on loopback): each kill takes the leader or a random
gateway (half and half), and the time until another gateway leads is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import load_config
from gateway.daemon.processor import Processor
from gateway.pipeline.work import Services
from gateway.store import Db, Store, lease
from gateway.store.db import database_errors, read_once, ts
from tests.daemon import Daemon
from tests.dovecot import PASSWORD, USER, Dovecot
from tests.harness import storing
from tests.postgres import Postgres

DEAD = "dead@bounce.example"  # the relay refuses this recipient with 5xx for the whole run


@dataclass
class Report:
    messages_in: int = 0
    new_threads: int = 0
    follow_ups: int = 0
    acks_out: int = 0
    se_copies_out: int = 0
    lost: list[str] = field(default_factory=list)
    duplicate_acks_window: int = 0  # the same Message-ID sent again: the 250-before-commit window
    duplicate_acks_logic: int = 0  # two different acknowledgements for one mail: a bug
    kills: int = 0
    dead_letters: list[str] = field(default_factory=list)
    integrity: str = ""
    recoveries: list[tuple[str, float]] = field(default_factory=list)
    cpu_while_down: float = 0.0  # the daemon's CPU share while Dovecot was down
    seconds: float = 0.0
    engine: str = "sqlite"
    gateways: int = 1
    leader_kills: int = 0
    takeovers: list[float] = field(default_factory=list)  # seconds until another gateway led
    overdue: int = 0  # tickets whose dates were missed before the run (seeded)
    revised: int = 0  # of those, revised (the customer told a new date)
    revisions_again: int = 0  # a second, different revision of one ticket's missed dates: a bug
    revisions_window: int = 0  # the same revision sent again: the 250-before-commit window

    def ok(self) -> bool:
        return (
            not self.lost
            and self.duplicate_acks_logic == 0
            and self.duplicate_acks_window + self.revisions_window <= self.kills
            and self.integrity == "ok"
            and self.revised == self.overdue
            and self.revisions_again == 0
        )

    def render(self) -> str:
        dead = Counter(self.dead_letters)
        lines = [
            f"messages in:            {self.messages_in} ({self.new_threads} new threads, "
            f"{self.follow_ups} follow-ups)",
            f"acknowledgements out:   {self.acks_out}",
            f"SE copies out:          {self.se_copies_out}",
            f"lost:                   {len(self.lost)}"
            + (f" {self.lost[:5]}" if self.lost else ""),
            f"duplicate acks:         {self.duplicate_acks_window} in the 250-before-commit "
            f"window (allowed: at most {self.kills}, one per kill), "
            f"{self.duplicate_acks_logic} otherwise",
            f"missed dates revised:   {self.revised} of {self.overdue} overdue tickets;"
            f" {self.revisions_window} repeated in the window, {self.revisions_again} otherwise",
            f"kills (SIGKILL):        {self.kills}",
            f"dead letters:           {len(self.dead_letters)}"
            + "".join(f"\n    {n} x {why}" for why, n in dead.most_common()),
            f"integrity_check:        {self.integrity}",
            f"CPU while IMAP down:    {self.cpu_while_down:.1%} of one core",
            "recovery after outages: "
            + ", ".join(f"{what} {secs:.1f} s" for what, secs in self.recoveries),
            *(
                [
                    f"engine:                 {self.engine}, {self.gateways} gateways",
                    f"leader kills:           {self.leader_kills}; take-over "
                    + (
                        f"median {statistics.median(self.takeovers):.1f} s, max"
                        f" {max(self.takeovers):.1f} s over {len(self.takeovers)}"
                        if self.takeovers
                        else "not measured"
                    ),
                ]
                if self.gateways > 1
                else []
            ),
            f"wall time:              {self.seconds:.0f} s",
            f"verdict:                {'PASS' if self.ok() else 'FAIL'}",
        ]
        return "\n".join(lines)


def customer(n: int, follow_up_of: tuple[str, str] | None = None) -> tuple[bytes, str, str]:
    """A customer mail; a follow-up threads to an acknowledgement (its Message-ID, subject)."""
    sender = DEAD if n % 97 == 13 else f"c{n}@cust{n % 7}.example"
    mid = f"<chaos-{n}@cust.example>"
    lines = [
        f"From: Customer {n} <{sender}>",
        "To: support@example.com",
        f"Message-ID: {mid}",
        "Date: Mon, 23 Nov 2026 10:00:00 -0500",
    ]
    if follow_up_of:
        ack_id, subject = follow_up_of
        lines += [f"Subject: {subject}", f"In-Reply-To: {ack_id}", f"References: {ack_id}"]
        body = f"More detail for my ticket, message {n}."
    else:
        lines.append(f"Subject: Problem {n}")
        body = f"Hello, problem {n}: the export fails. Can you help?"
    raw = "\r\n".join([*lines, "", body, ""]).encode()
    return raw, mid, sender


CONFIG = """
[support]
address = "support@example.com"
display_name = "Chaos Support"
[imap]
host = "127.0.0.1"
port = {imap_port}
tls = "none"
user = "{user}"
password.file = "{secret}"
poll_seconds = 0.5
idle_recheck_seconds = 2
backoff_initial_seconds = 0.2
backoff_max_seconds = 2
timeout_seconds = 10
[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
timeout_seconds = 5
retry_initial_seconds = 0.5
retry_max_seconds = 2
[database]
path = "{db}"
{url}
[scheduler]
tick_seconds = 0.2
[metrics]
port = 0
[web]
port = 0
[safety]
max_auto_per_hour = 1000
max_auto_per_day = 1000
max_staff_mail_per_sender_per_day = 1000
[sla]
status_update_business_days = 0
[routing]
default_se = "sam@example.com"
[[people]]
name = "Sam Engineer"
address = "sam@example.com"
role = "se"
"""


async def run(
    messages: int,
    kills: int,
    seed: int,
    base: Path,
    verbose: bool = False,
    engine: str = "sqlite",
    gateways: int = 1,
    overdue: int = 0,
) -> Report:
    rng = random.Random(seed)
    report = Report(engine=engine, gateways=gateways)
    started = time.monotonic()
    cluster: Postgres | None = None
    target = str(base / "gateway.db")
    if engine == "postgresql":
        cluster = Postgres()
        cluster.start()
        target = cluster.database()
    dovecot = Dovecot(base / "dovecot")
    (base / "dovecot").mkdir(parents=True)
    os.chmod(base, 0o755)
    dovecot.start()
    sink = SmtpSink()
    await sink.start()
    sink.refuse[DEAD] = "550 5.1.1 no such user"
    secret = base / "imap-password"
    secret.write_text(PASSWORD)
    config = base / "gateway.toml"
    db = base / "gateway.db"
    url = f'url = "{target}"' if cluster is not None else ""
    config.write_text(
        CONFIG.format(
            imap_port=dovecot.port, user=USER, secret=secret, smtp_port=sink.port, db=db, url=url
        )
    )
    overdue_tickets = await _seed_overdue(config, overdue)
    report.overdue = len(overdue_tickets)
    daemons = [
        Daemon(config, "--backfill", date(2026, 1, 1).isoformat(), log=base / f"daemon{i}.log")
        for i in range(gateways)
    ]
    for daemon in daemons:
        await daemon.start()
    await asyncio.sleep(1.5)  # the first start sets the cursor (backfill takes the rest anyway)

    kill_at = sorted(rng.sample(range(1, messages), min(kills, messages - 1)))
    dovecot_restart_at = messages // 2
    outage_at, soft_fail_at = messages // 3, (2 * messages) // 3
    events: list[tuple[str, float]] = []
    expected_new: set[str] = set()
    follow_ups: set[str] = set()
    dead_ack_for: set[str] = set()  # new threads from the refused recipient: no ack can arrive

    def acks_by_reply() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for m in sink.messages:
            if m["X-Support-Kind"] == "ack":
                out.setdefault(m["In-Reply-To"], []).append(m["Message-ID"])
        return out

    for n in range(messages):
        acked = [m for m in sink.messages if m["X-Support-Kind"] == "ack"]
        if acked and rng.random() < 0.25:
            a = rng.choice(acked)
            raw, mid, _ = customer(n, (a["Message-ID"], a["Subject"]))
            follow_ups.add(mid)
        else:
            raw, mid, sender = customer(n)
            expected_new.add(mid)
            if sender == DEAD:
                dead_ack_for.add(mid)
        await asyncio.to_thread(dovecot.append, raw)
        if n in kill_at:
            await asyncio.sleep(rng.random() * 0.3)
            leading = await asyncio.to_thread(_leader_pid, target) if cluster else None
            victim = rng.choice(daemons)
            if leading is not None and rng.random() < 0.5:
                victim = next((d for d in daemons if d.pid == leading), victim)
            await victim.kill()
            report.kills += 1
            if leading is not None and victim.pid == leading and len(daemons) > 1:
                report.leader_kills += 1
                report.takeovers.append(await _takeover(target, leading))
            await victim.start()
        if n == dovecot_restart_at:
            # Down for 5 s: the daemon retries with capped backoff and must not spin meanwhile.
            await asyncio.to_thread(dovecot.kick_and_stop)
            pids = [d.pid for d in daemons]
            before = sum(map(_cpu_seconds, pids))
            await asyncio.sleep(5)
            report.cpu_while_down = (sum(map(_cpu_seconds, pids)) - before) / 5
            await asyncio.to_thread(dovecot.start)
            events.append(("dovecot down 5 s", time.monotonic()))
        if n == outage_at:
            await sink.stop()
            await asyncio.sleep(3)
            await sink.start()  # the same port again
            events.append(("relay refusing connections 3 s", time.monotonic()))
        if n == soft_fail_at:
            sink.fail_with = "451 4.3.0 try again later"
            await asyncio.sleep(3)
            sink.fail_with = ""
            events.append(("relay answering 4xx 3 s", time.monotonic()))
        if verbose and n % 100 == 0:
            print(f"  {n} appended, {len(sink.messages)} at the sink", flush=True)
        await asyncio.sleep(0.01)

    report.messages_in = messages
    report.new_threads = len(expected_new)
    report.follow_ups = len(follow_ups)
    # Settle: every mail processed and the outbox drained (bounded wait).
    deadline = time.monotonic() + 120 + messages * 0.1
    while time.monotonic() < deadline:
        done = _settled(target, messages + report.overdue)
        if done:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)
    for what, at in events:
        after = [m.arrived_at for m in sink.messages if m.arrived_at > at]
        report.recoveries.append((what, (min(after) - at) if after else float("nan")))
    for daemon in daemons:
        await daemon.stop()

    revisions: dict[str, list[str]] = {}
    for m in sink.messages:
        if m["X-Support-Kind"] == "revised-eta":
            revisions.setdefault(m["X-Support-Ticket"], []).append(m["Message-ID"])
    report.revised = len(set(revisions) & overdue_tickets)
    for ids in revisions.values():
        report.revisions_window += len(ids) - len(set(ids))
        report.revisions_again += len(set(ids)) - 1
    acks = acks_by_reply()
    report.acks_out = sum(len(v) for v in acks.values())
    report.se_copies_out = sum(1 for m in sink.messages if m["X-Support-Kind"] == "se-copy")
    processed = {
        r[0]
        for r in _rows(
            target,
            "SELECT message_id FROM inbox WHERE state != 'new' AND message_id IS NOT NULL",
        )
    }
    report.dead_letters = [
        r[0] for r in _rows(target, "SELECT last_error FROM outbox WHERE state = 'dead'")
    ]
    if cluster is None:
        report.integrity = _rows(target, "PRAGMA integrity_check")[0][0]
    else:  # (PostgreSQL checks its own pages; what we check is that every reference holds)
        orphans = _rows(
            target,
            "SELECT (SELECT count(*) FROM inbox_raw r LEFT JOIN inbox i ON i.id = r.inbox_id"
            " WHERE i.id IS NULL) + (SELECT count(*) FROM outbox o LEFT JOIN outbox_raw r"
            " ON r.outbox_id = o.id WHERE r.outbox_id IS NULL)",
        )[0][0]
        report.integrity = "ok" if orphans == 0 else f"{orphans} rows without their mail"
    for mid in sorted(expected_new | follow_ups):
        if mid not in processed:
            report.lost.append(mid)
    for mid in sorted(expected_new - dead_ack_for):
        if mid not in acks:
            report.lost.append(f"{mid} (no acknowledgement)")
    for ids in acks.values():
        if len(ids) > 1:
            same = Counter(ids)
            report.duplicate_acks_window += sum(c - 1 for c in same.values())
            report.duplicate_acks_logic += len(same) - 1
    await sink.stop()
    dovecot.stop()
    if cluster is not None:
        cluster.stop()
    report.seconds = time.monotonic() - started
    return report


async def _seed_overdue(config: Path, count: int) -> set[str]:
    """Tickets opened a month ago whose dates nobody kept (their mail sent then): the run's
    scheduler must tell each customer a revised date once, whatever is killed meanwhile.
    Returns the keys of those with a date now missed (the capacity check spread the dates of
    a hundred tickets for one SE over weeks: a month back, every one is missed)."""
    if not count:
        return set()
    settings = load_config(config)
    clock = FakeClock(datetime.now(UTC) - timedelta(days=30))
    mails = (customer(n) for n in range(900_000, 900_000 + 2 * count))
    raws = [raw for raw, _, sender in mails if sender != DEAD][:count]
    async with Store(settings.database.target) as store:
        await store.run(storing(raws, clock.now(), source="seed"))
        await Processor(store, Services.build(settings, clock)).process_pending()

        def sent_then(db: Db) -> set[str]:
            db.execute("UPDATE outbox SET state = 'sent' WHERE state = 'queued'")
            missed = db.execute(
                "SELECT t.key FROM tickets t JOIN ticket_owed o ON o.ticket_id = t.id"
                " WHERE o.due < ?",
                (ts(datetime.now(UTC) - timedelta(hours=1)),),
            )
            return {r[0] for r in missed.fetchall()}

        return await store.run(sent_then)


def _rows(target: str, sql: str) -> list[Any]:
    return read_once(target, lambda db: db.execute(sql).fetchall())


def _leader_pid(target: str) -> int | None:
    holder = lease.leader(target)
    return int(holder.rsplit(":", 1)[1]) if holder else None


async def _takeover(target: str, old: int, limit: float = 60) -> float:
    """Seconds from the leader's death until another gateway leads."""
    killed = time.monotonic()
    while time.monotonic() - killed < limit:
        now = await asyncio.to_thread(_leader_pid, target)
        if now is not None and now != old:
            return time.monotonic() - killed
        await asyncio.sleep(0.05)
    return float("inf")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _settled(target: str, messages: int) -> bool:
    try:
        [(stored, pending, queued)] = _rows(
            target,
            "SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM inbox WHERE state = 'new'),"
            " (SELECT count(*) FROM outbox WHERE state = 'queued')",
        )
    except FileNotFoundError:
        return False
    except database_errors():
        return False
    return bool(stored >= messages and pending == 0 and queued == 0)


def parser() -> argparse.ArgumentParser:
    """The command line of scripts/chaos (the README's examples are parsed by the suite)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", metavar="DIR", help="run in DIR and keep it (database, config, log)")
    p.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--gateways", type=int, default=1, help="daemons (PostgreSQL: fail-over)")
    p.add_argument(
        "--overdue", type=int, default=100, help="tickets with missed dates before the run"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.gateways > 1 and args.engine != "postgresql":
        p.error("several gateways share a PostgreSQL database: add --engine postgresql")
    more = {"engine": args.engine, "gateways": args.gateways, "overdue": args.overdue}
    if args.keep:
        base = Path(args.keep)
        base.mkdir(parents=True, exist_ok=False)
        report = asyncio.run(run(args.messages, args.kills, args.seed, base, True, **more))
    else:
        with tempfile.TemporaryDirectory(prefix="sgw-chaos-", dir="/tmp") as tmp:
            report = asyncio.run(run(args.messages, args.kills, args.seed, Path(tmp), True, **more))
    print(report.render())
    return 0 if report.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main())
