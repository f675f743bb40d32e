"""The benchmark (``scripts/bench``): real Dovecot, an aiosmtpd sink, the real daemon.

Prints:
- latency: mail appended one at a time while the daemon IDLEs, APPEND -> acknowledgement at the
  sink, p50 and p99; and mail handed over LMTP, the end of the hand-off -> the acknowledgement;
- throughput: a backlog of new-ticket mail, messages per second end to end (durable commits),
  with 1 or more gateways on one database (``--gateways 1,2,4``, PostgreSQL), beside a raw
  baseline in the same run (imapclient batched fetch, mail-parser, an acknowledgement and an
  SE's copy composed with the standard library and sent; no logic, no database) and the ratio;
  and processing alone (until the last message was processed) beside it, with how long sending
  trailed after it;
- with ``--relay-rtt N``: a relay N ms away (a link that holds every chunk half of that each
  way), mails a second over 1, 2 and 4 connections (``smtp.connections``);
- the daemon's peak RSS, and its RSS after start with 1,000 and with 100,000 stored tickets;
- the scheduler's tick time with 100,000 and with 1,000,000 stored commitments.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import aiosmtplib
import mailparser

import gateway
from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import parse_config
from gateway.daemon.scheduler import Scheduler
from gateway.pipeline.work import Services
from gateway.store import Store
from tests.chaos import CONFIG, customer
from tests.conftest import MONDAY_10, base_config
from tests.daemon import Daemon
from tests.dovecot import PASSWORD, USER, Dovecot
from tests.postgres import Postgres


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# --engine postgresql: the daemon's database is a fresh one in a cluster of the bench's own.
CLUSTER: Postgres | None = None


def write_config(
    base: Path,
    dovecot: Dovecot,
    sink: SmtpSink,
    name: str,
    relay_port: int | None = None,
    connections: int = 2,
) -> Path:
    """The daemon's config: the sink as relay (or whatever listens on ``relay_port``)."""
    secret = base / "imap-password"
    secret.write_text(PASSWORD)
    config = base / f"{name}.toml"
    config.write_text(
        CONFIG.format(
            imap_port=dovecot.port,
            user=USER,
            secret=secret,
            smtp_port=relay_port or sink.port,
            db=base / f"{name}.db",
            url=f'url = "{CLUSTER.database()}"' if CLUSTER is not None else "",
        )
        .replace("idle_recheck_seconds = 2", "idle_recheck_seconds = 60")
        .replace("[smtp]\n", f"[smtp]\nconnections = {connections}\n")
    )
    return config


async def wait_until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("benchmark step did not finish")


async def ack_arrival(sink: SmtpSink, mid: str, before: int) -> float:
    """When the acknowledgement of Message-ID ``mid`` reached the sink (after its first
    ``before`` messages)."""
    await wait_until(lambda: any(m["In-Reply-To"] == mid for m in sink.messages[before:]), 30)
    return next(m for m in sink.messages[before:] if m["In-Reply-To"] == mid).arrived_at


async def latency(base: Path, dovecot: Dovecot, sink: SmtpSink, count: int) -> list[float]:
    config = write_config(base, dovecot, sink, "latency")
    proc = Daemon(config, "--backfill", "2026-01-01", log=base / "latency.log")
    await proc.start()
    await asyncio.sleep(2)
    samples = []
    try:
        for n in range(count):
            raw, mid, _ = customer(100_000 + n)
            before = len(sink.messages)
            t0 = time.monotonic()
            await asyncio.to_thread(dovecot.append, raw)
            samples.append(await ack_arrival(sink, mid, before) - t0)
            await asyncio.sleep(0.2)
    finally:
        await proc.stop(60)
    return samples


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def lmtp_latency(base: Path, dovecot: Dovecot, sink: SmtpSink, count: int) -> list[float]:
    """Mail handed to the daemon's LMTP ingress one at a time (as Postfix or Dovecot would):
    the end of the hand-off (the 250 to DATA: stored) -> the acknowledgement at the sink."""
    config = write_config(base, dovecot, sink, "lmtp")
    port = free_port()
    config.write_text(
        config.read_text() + f'\n[ingress]\nenabled = true\nprotocol = "lmtp"\nport = {port}\n'
    )
    proc = Daemon(config, "--backfill", "2026-01-01", log=base / "lmtp.log")
    await proc.start()
    await asyncio.sleep(2)

    def hand(raw: bytes, sender: str) -> float:
        with smtplib.LMTP("127.0.0.1", port) as client:
            client.sendmail(sender, ["support@example.com"], raw)
        return time.monotonic()

    samples = []
    try:
        for n in range(count):
            raw, mid, sender = customer(150_000 + n)
            before = len(sink.messages)
            handed = await asyncio.to_thread(hand, raw, sender)
            samples.append(await ack_arrival(sink, mid, before) - handed)
            await asyncio.sleep(0.2)
    finally:
        await proc.stop(60)
    return samples


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 (nearest rank) in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return 1000 * statistics.median(ordered), 1000 * p99


def backlog(dovecot: Dovecot, count: int, first: int) -> None:
    """``count`` new customers' mail in an inbox that holds nothing else (what an earlier run
    had not moved yet would be new mail to the next run's fresh database)."""
    with dovecot.client() as c:
        c.select_folder("INBOX")
        c.delete_messages(c.search(["ALL"]))
        c.expunge()
        for start in range(0, count, 500):
            for n in range(start, min(count, start + 500)):
                c.append("INBOX", customer(first + n)[0])


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user and system, all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stages(log: Path) -> dict[str, float]:
    """The daemon's ``gateway_stage_cpu_seconds`` by stage, and the messages they count, from its
    /metrics (its port is in its log)."""
    port = re.search(r"metrics-up .*port=(\d+)", log.read_text())
    if port is None:
        return {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port[1]}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {
        m[1]: float(m[2])
        for m in re.finditer(r'^gateway_stage_cpu_seconds_total\{stage="(\w+)"\} (\S+)', text, re.M)
    }
    taken = re.search(r"^gateway_stage_messages_total (\S+)", text, re.M)
    out["messages"] = float(taken[1]) if taken else 0.0
    return out


@dataclass
class Run:
    rate: float  # messages a second
    peak_kb: int  # the highest peak RSS of the daemons
    cpu_ms: float  # the daemons' CPU time a message (all threads)
    stages: dict[str, float]  # ms of CPU a message by pipeline stage (the processing threads)
    processed_rate: float  # messages a second until the last was processed (not yet all sent)
    trail: float  # seconds from the last message processed to the last mail at the sink


class Processed:
    """How many messages the daemons' logs say were processed (a ``message`` line each), read
    as the logs grow."""

    def __init__(self, logs: list[Path]) -> None:
        self.offsets = dict.fromkeys(logs, 0)
        self.count = 0

    def read(self) -> int:
        for log, offset in self.offsets.items():
            if not log.exists():
                continue
            with log.open("rb") as f:
                f.seek(offset)
                data = f.read()
            end = data.rfind(b"\n") + 1  # a line still being written is read next time
            self.count += data[:end].count(b" gateway.processor message ")
            self.offsets[log] = offset + end
        return self.count


async def throughput(
    base: Path, dovecot: Dovecot, sink: SmtpSink, count: int, gateways: int = 1
) -> Run:
    """A backlog in the mailbox, then ``gateways`` daemons on one database (the first leads:
    it fetches; all of them process and send): messages per second until every mail's
    acknowledgement and SE copy are at the sink; the highest peak RSS of the daemons, their
    CPU time and the processing threads' by stage, a message."""
    backlog(dovecot, count, 200_000 + 100_000 * gateways)
    config = write_config(base, dovecot, sink, f"throughput-{gateways}")
    before = len(sink.messages)
    t0 = time.monotonic()
    logs = [base / f"throughput-{gateways}-{i}.log" for i in range(gateways)]
    procs = [Daemon(config, "--backfill", "2026-01-01", log=log) for log in logs]
    for proc in procs:
        await proc.start()
    peak = 0
    processed, processed_secs = Processed(logs), 0.0
    try:
        while len(sink.messages) - before < 2 * count:
            if not processed_secs and processed.read() >= count:
                processed_secs = time.monotonic() - t0
            peak = max(peak, *(rss_kb(proc.pid, "VmHWM") for proc in procs))
            await asyncio.sleep(0.1)
            if time.monotonic() - t0 > 60 + count:
                raise TimeoutError("throughput run did not finish")
        secs = time.monotonic() - t0
        processed_secs = processed_secs or secs  # (processed and sent within one look)
        peak = max(peak, *(rss_kb(proc.pid, "VmHWM") for proc in procs))
        cpu = sum(cpu_seconds(proc.pid) for proc in procs)
        by_stage: dict[str, float] = {}
        for i in range(gateways):
            figures = await asyncio.to_thread(stages, base / f"throughput-{gateways}-{i}.log")
            for stage, value in figures.items():
                by_stage[stage] = by_stage.get(stage, 0.0) + value
    finally:
        for proc in procs:
            await proc.stop(60)
    taken = by_stage.pop("messages", 0.0) or 1.0
    per = {stage: 1000 * value / taken for stage, value in by_stage.items()}
    return Run(
        count / secs, peak, 1000 * cpu / count, per, count / processed_secs, secs - processed_secs
    )


class SlowLink:
    """A relay far away: a TCP link to ``port`` that holds every chunk ``delay`` seconds in each
    direction."""

    def __init__(self, port: int, delay: float) -> None:
        self.target = port
        self.delay = delay
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        far_reader, far_writer = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(self._pump(reader, far_writer), self._pump(far_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


async def distant_relay(
    base: Path, dovecot: Dovecot, sink: SmtpSink, count: int, rtt_ms: float, connections: int
) -> float:
    """Mails a second (from the first at the sink to the last) to a relay ``rtt_ms`` away, over
    ``connections``: a backlog of ``count`` customers' mail, an acknowledgement and a copy
    each."""
    backlog(dovecot, count, 700_000 + 10_000 * connections)
    link = SlowLink(sink.port, rtt_ms / 2000)
    port = await link.start()
    name = f"distant-{connections}"
    config = write_config(base, dovecot, sink, name, relay_port=port, connections=connections)
    before = len(sink.messages)
    proc = Daemon(config, "--backfill", "2026-01-01", log=base / f"{name}.log")
    await proc.start()
    try:
        await wait_until(lambda: len(sink.messages) - before >= 2 * count, 60 + count)
    finally:
        await proc.stop(60)
        await link.stop()
    arrived = [m.arrived_at for m in sink.messages[before:]]
    return (len(arrived) - 1) / (max(arrived) - min(arrived))


def acknowledgement(mail: mailparser.MailParser, sender: str) -> bytes:
    """What a bare pipeline composes for the customer: a reply quoting their text, plain and
    HTML."""
    ack = EmailMessage()
    ack["From"] = "Support <support@example.com>"
    ack["To"] = sender
    ack["Subject"] = f"Re: {mail.subject}"
    ack["Message-ID"] = make_msgid(domain="example.com")
    ack["In-Reply-To"] = mail.message_id or ""
    ack["Date"] = format_datetime(datetime.now(UTC))
    quoted = "\n".join(f"> {line}" for line in (mail.text_plain or [""])[0].splitlines())
    text = f"Thank you, we have your message.\n\n{quoted}\n\nWe will answer by Tuesday 10:00."
    ack.set_content(text)
    ack.add_alternative(f"<p style='color:#1a5fb4'>{html.escape(text)}</p>", subtype="html")
    return ack.as_bytes()


def copy_for_engineer(raw: bytes, mail: mailparser.MailParser) -> bytes:
    """And for the SE: a note with the customer's mail attached as it came."""
    copy = EmailMessage()
    copy["From"] = "Support <support@example.com>"
    copy["To"] = "sam@example.com"
    copy["Subject"] = f"New: {mail.subject}"
    copy["Message-ID"] = make_msgid(domain="example.com")
    copy["Date"] = format_datetime(datetime.now(UTC))
    copy.set_content("A new ticket is yours; the customer's mail is attached.")
    copy.add_attachment(raw, maintype="message", subtype="rfc822")
    return copy.as_bytes()


async def raw_baseline(dovecot: Dovecot, sink: SmtpSink, count: int) -> float:
    """What any gateway must do, with no logic and no database: fetch in batches, parse,
    compose an acknowledgement and the SE's copy, send both."""
    backlog(dovecot, count, 900_000)
    t0 = time.monotonic()

    def fetch_all() -> list[bytes]:
        with dovecot.client() as c:
            c.select_folder("INBOX")
            uids = c.search(["ALL"])
            out = []
            for i in range(0, len(uids), 100):
                data = c.fetch(uids[i : i + 100], ["BODY.PEEK[]", "INTERNALDATE"])
                out += [bytes(d[b"BODY[]"]) for d in data.values()]
            return out

    raws = await asyncio.to_thread(fetch_all)
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port)
    await smtp.connect()
    for raw in raws:
        mail = mailparser.parse_from_bytes(raw)
        sender = mail.from_[0][1] if mail.from_ else "x@example.com"
        await smtp.sendmail("support@example.com", [sender], acknowledgement(mail, sender))
        await smtp.sendmail(
            "support@example.com", ["sam@example.com"], copy_for_engineer(raw, mail)
        )
    await smtp.quit()
    return len(raws) / (time.monotonic() - t0)


def stored_tickets(db: Path, tickets: int) -> None:
    """Fill a database with resolved tickets (and their commitments) directly."""
    con = sqlite3.connect(db)
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat(timespec="microseconds")
    con.executemany(
        "INSERT INTO tickets (key, subject, customer_address, customer_name, account, token, se,"
        " state, received_at, created_at, last_customer_message_id)"
        " VALUES (?, 'old', ?, '', '', 'tok', 'sam@example.com', 'resolved', ?, ?, ?)",
        (
            (f"OLD-{i}", f"c{i}@old.example", now, now, f"<old-{i}@old.example>")
            for i in range(tickets)
        ),
    )
    con.commit()
    con.close()


async def rss_with_tickets(base: Path, dovecot: Dovecot, sink: SmtpSink, tickets: int) -> int:
    config = write_config(base, dovecot, sink, f"rss{tickets}")
    db = base / f"rss{tickets}.db"
    store = Store(str(db))
    await store.start()  # creates the schema
    await store.stop()
    await asyncio.to_thread(stored_tickets, db, tickets)
    proc = Daemon(config, "--backfill", "2026-01-01", log=base / f"rss{tickets}.log")
    await proc.start()
    await asyncio.sleep(4)
    rss = rss_kb(proc.pid)
    await proc.stop(60)
    return rss


def stored_commitments(db: Path, count: int) -> None:
    """``count`` commitments, ten a ticket: almost all met long ago, a realistic few open in the
    future (their tickets open). (Not all on one ticket: each insert works out its ticket's
    soonest date owed, so one ticket of a million dates took most of an hour to seed.)"""
    con = sqlite3.connect(db)
    at = MONDAY_10.isoformat()
    con.executemany(
        "INSERT INTO tickets (id, key, subject, customer_address, customer_name, account, token,"
        " se, state, received_at, created_at, last_customer_message_id)"
        " VALUES (?, ?, 's', ?, '', '', 'tok', 'sam@example.com', ?, ?, ?, ?)",
        (
            (
                t,
                f"T-{t}",
                f"c{t}@x.example",
                "new" if t % 100 == 1 else "resolved",
                at,
                at,
                f"<t{t}@x>",
            )
            for t in range(1, count // 10 + 2)
        ),
    )
    old = (MONDAY_10 - timedelta(days=300)).astimezone(UTC).isoformat(timespec="microseconds")
    future = (MONDAY_10 + timedelta(days=30)).astimezone(UTC).isoformat(timespec="microseconds")
    con.executemany(
        "INSERT INTO commitments (ticket_id, kind, due_at, told, made_at, met_at)"
        " VALUES (?, 'actionable', ?, 'x', ?, ?)",
        (
            (i // 10 + 1, *((future, old, None) if i % 1000 == 0 else (old, old, old)))
            for i in range(count)
        ),
    )
    con.commit()
    con.close()


async def tick_time(base: Path, count: int) -> float:
    db = base / f"tick{count}.db"
    data = base_config(base)
    data["database"]["path"] = str(db)
    config = parse_config(data)
    store = Store(str(db))
    await store.start()
    await store.stop()
    await asyncio.to_thread(stored_commitments, db, count)
    await store.start()
    clock = FakeClock(MONDAY_10)
    scheduler = Scheduler(store, Services.build(config, clock))
    await scheduler.tick()  # warm the page cache
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        await scheduler.tick()
        times.append(time.perf_counter() - t0)
    await store.stop()
    return statistics.median(times)


def command_times(config: Path, mail: Path, runs: int = 5) -> dict[str, float]:
    """Each operator command a person types, the median of ``runs`` starts in seconds (the
    installed entry point, as a shell runs it; the first run also fills the template cache)."""
    entry = Path(sys.executable).with_name("support-gateway")
    # Byte-compiled first, as an installation is (pip compiles what it installs): with
    # PYTHONDONTWRITEBYTECODE set (some shells and CI images) a checkout's modules would
    # otherwise be compiled from source at every start (0.08 s of `explain`'s 0.5 here).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(gateway.__file__).parent)], check=True
    )
    commands = {
        "--help": ["--help"],
        "check-config": ["check-config", "--config", str(config)],
        "status": ["status", "--config", str(config)],
        "explain": ["explain", "--config", str(config), str(mail)],
    }
    out = {}
    for name, argv in commands.items():
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            done = subprocess.run([str(entry), *argv], capture_output=True, check=False)
            took = time.perf_counter() - t0
            if done.returncode != 0:
                raise RuntimeError(f"{name} failed: {done.stderr.decode()[-500:]}")
            samples.append(took)
        samples.sort()
        out[name] = samples[len(samples) // 2]
    return out


async def main_async(args: argparse.Namespace, base: Path) -> None:
    global CLUSTER
    if args.engine == "postgresql":
        CLUSTER = Postgres()
        CLUSTER.start()
        print("engine: PostgreSQL (a cluster on loopback, fsync off: the test cluster's)")
    (base / "dovecot").mkdir()
    os.chmod(base, 0o755)
    dovecot = Dovecot(base / "dovecot")
    dovecot.start()
    sink = SmtpSink()
    await sink.start()
    try:
        lat = await latency(base, dovecot, sink, args.latency)
        p50, p99 = percentiles(lat)
        print(
            f"latency (APPEND -> ack at the sink, {len(lat)} mails): p50 {p50:.0f} ms, "
            f"p99 {p99:.0f} ms",
            flush=True,
        )
        lat = await lmtp_latency(base, dovecot, sink, args.latency)
        p50, p99 = percentiles(lat)
        print(
            f"latency (LMTP hand-off stored -> ack at the sink, {len(lat)} mails):"
            f" p50 {p50:.0f} ms, p99 {p99:.0f} ms",
            flush=True,
        )
        times = await asyncio.to_thread(
            command_times,
            base / "latency.toml",
            Path(__file__).parent.parent / "deploy" / "examples" / "customer-mail.eml",
        )
        print(
            "command start-up (median of 5): "
            + ", ".join(f"{name} {secs:.2f} s" for name, secs in times.items()),
            flush=True,
        )
        runs = {
            gateways: await throughput(base, dovecot, sink, args.backlog, gateways)
            for gateways in args.gateways
        }
        peak = max(run.peak_kb for run in runs.values())
        if args.relay_rtt:
            far = {
                n: await distant_relay(base, dovecot, sink, 100, args.relay_rtt, n)
                for n in (1, 2, 4)
            }
            print(
                f"a relay {args.relay_rtt:g} ms away (100 customers' mail, 200 mails): "
                + ", ".join(
                    f"{rate:.1f} mails/s over {n} connection{'s' if n > 1 else ''}"
                    for n, rate in far.items()
                ),
                flush=True,
            )
        # (last: the baseline leaves its mail in the mailbox)
        base_rate = await raw_baseline(dovecot, sink, args.backlog)
        print(
            f"raw baseline ({args.backlog} backlog: fetch, parse, compose and send an"
            f" acknowledgement and a copy): {base_rate:.0f} messages/s",
            flush=True,
        )
        for gateways, run in runs.items():
            print(
                f"throughput ({args.backlog} backlog, {gateways} gateway"
                f"{'s' if gateways > 1 else ''}): {run.rate:.0f} messages/s;"
                f" ratio to the baseline {run.rate / base_rate:.2f};"
                f" CPU {run.cpu_ms:.1f} ms a message (the whole daemon)",
                flush=True,
            )
            trail = f"{run.trail:.1f} s" if run.trail >= 0.1 else "within 0.1 s (a look)"
            print(
                f"  processing alone: {run.processed_rate:.0f} messages/s"
                f" (ratio {run.processed_rate / base_rate:.2f}); the last mail went"
                f" {trail} after the last message was processed",
                flush=True,
            )
            if run.stages:
                table = ", ".join(f"{k} {v:.2f}" for k, v in run.stages.items())
                total = sum(run.stages.values())
                print(f"  processing CPU, ms a message: {table}; total {total:.2f}", flush=True)
        print(f"peak RSS during the backlog: {peak / 1024:.0f} MB (per gateway)", flush=True)
        if CLUSTER is not None:
            return  # (the stored-ticket figures below fill a SQLite file)
        # An empty mailbox: the baseline's mail would be a backlog to the daemon's backfill.
        await asyncio.to_thread(backlog, dovecot, 0, 0)
        small = await rss_with_tickets(base, dovecot, sink, 1_000)
        large = await rss_with_tickets(base, dovecot, sink, 100_000)
        print(
            f"RSS after start: {small / 1024:.0f} MB with 1,000 stored tickets, "
            f"{large / 1024:.0f} MB with 100,000",
            flush=True,
        )
        for count in (100_000, 1_000_000):
            print(
                f"scheduler tick with {count:,} stored commitments: "
                f"{await tick_time(base, count) * 1000:.1f} ms",
                flush=True,
            )
    finally:
        await sink.stop()
        dovecot.stop()
        if CLUSTER is not None:
            CLUSTER.stop()


def parser() -> argparse.ArgumentParser:
    """The command line of scripts/bench (the README's examples are parsed by the suite)."""
    p = argparse.ArgumentParser(description="support-gateway benchmark")
    p.add_argument("--latency", type=int, default=100, help="mails for the latency figure")
    p.add_argument("--backlog", type=int, default=10_000, help="mails in the backlog")
    p.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument(
        "--relay-rtt",
        type=float,
        default=0,
        metavar="N",
        help="also send to a relay N ms away (round trip) over 1, 2 and 4 connections",
    )
    p.add_argument(
        "--gateways",
        type=lambda v: [int(n) for n in v.split(",")],
        default=[1],
        help="gateways sharing the backlog, one run each: 1,2,4 (PostgreSQL for more than 1)",
    )
    return p


def main() -> int:
    p = parser()
    args = p.parse_args()
    if max(args.gateways) > 1 and args.engine != "postgresql":
        p.error("several gateways share a PostgreSQL database: add --engine postgresql")
    with tempfile.TemporaryDirectory(prefix="sgw-bench-", dir="/tmp") as tmp:
        asyncio.run(main_async(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
