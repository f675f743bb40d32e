"""The web view's benchmark (``scripts/bench-web``): the real daemon on a database of N stored
tickets (default 100,000 over two years, each with its mail in and out, dates, participants),
and the time each page takes to render over HTTP on loopback (p50 and max of R requests),
for a lead and for an SC.

Target: the list, a ticket's page and the report page each under 100 ms at 100,000 tickets.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.core.clock import FakeClock
from gateway.core.config import parse_config
from gateway.daemon.app import Gateway
from gateway.store import Store
from tests.conftest import base_config, customer_mail, merge

END = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SES = [f"se{i}@example.com" for i in range(8)]
ACCOUNTS = [f"Account {i}" for i in range(60)]
PRODUCTS = ["reports", "exports", "billing", "mobile", "api"]


def fill(db: Path, tickets: int) -> None:
    """``tickets`` tickets received evenly over two years up to END, most resolved."""
    span = timedelta(days=730) / tickets
    con = sqlite3.connect(db)
    raw = customer_mail(1, body="Our export fails with error E42.\n\nCan you help?")

    def iso(t: datetime) -> str:
        return t.isoformat(timespec="microseconds")

    for start in range(0, tickets, 10_000):
        rows = range(start, min(tickets, start + 10_000))
        t_rows, c_rows, i_rows, o_rows, p_rows, m_rows = [], [], [], [], [], []
        for i in rows:
            at = END - span * (tickets - i)
            open_ = i >= tickets - 300
            account = ACCOUNTS[i % len(ACCOUNTS)]
            t_rows.append(
                (
                    i + 1,
                    f"SUP-{i + 1}",
                    f"Problem {i}",
                    f"c{i}@{account[-1]}.example",
                    "C",
                    account,
                    PRODUCTS[i % 5],
                    "tok",
                    SES[i % 8],
                    f"sc{i % 6}@example.com",
                    "answered" if open_ else "resolved",
                    iso(at),
                    iso(at),
                    f"<c-{i}@x.example>",
                    iso(at + timedelta(hours=20)),
                    None if open_ else iso(at + timedelta(days=2)),
                )
            )
            due = at + timedelta(days=1)
            met = at + timedelta(hours=(20 if i % 10 else 30))
            c_rows.append(
                (
                    i + 1,
                    "actionable",
                    iso(due),
                    "x",
                    iso(at),
                    iso(met) if met <= due else None,
                    None if met <= due else iso(due),
                )
            )
            c_rows.append(
                (i + 1, "resolution", iso(at + timedelta(days=3)), "x", iso(at), None, None)
            )
            i_rows.append((i + 1, iso(at), i + 1))
            o_rows.append((2 * i + 1, i + 1, "ack", iso(at + timedelta(seconds=5))))
            o_rows.append((2 * i + 2, i + 1, "se-copy", iso(at + timedelta(seconds=5))))
            p_rows.append((i + 1, f"c{i}@x.example", f"c{i}@x.example", iso(at)))
            m_rows.append((f"<c-{i}@x.example>", i + 1))
        con.executemany(
            "INSERT INTO tickets (id, key, subject, customer_address, customer_name, account,"
            " product, token, se, sc, state, received_at, created_at, last_customer_message_id,"
            " responded_at, resolved_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            t_rows,
        )
        con.executemany(
            "INSERT INTO commitments (ticket_id, kind, due_at, told, made_at, met_at, missed_at)"
            " VALUES (?,?,?,?,?,?,?)",
            c_rows,
        )
        con.executemany(
            "INSERT INTO inbox (id, source, sha256, size, received_at, stored_at, state,"
            " action, ticket_id) VALUES (?, 'smtp', '', 100, ?, ?, 'processed',"
            " 'acknowledge', ?)",
            [(n, at, at, t) for n, at, t in i_rows],
        )
        con.executemany(
            "INSERT INTO inbox_raw (inbox_id, raw) VALUES (?, ?)", [(n, raw) for n, _, _ in i_rows]
        )
        con.executemany(
            "INSERT INTO outbox (id, ticket_id, kind, message_id, mail_from, rcpt, state,"
            " next_attempt_at, created_at, sent_at) VALUES (?, ?, ?, '<m>', 's', 'r',"
            " 'sent', ?, ?, ?)",
            [(n, t, k, at, at, at) for n, t, k, at in o_rows],
        )
        con.executemany(
            "INSERT INTO outbox_raw (outbox_id, raw) VALUES (?, ?)",
            [(n, raw) for n, _, _, _ in o_rows],
        )
        con.executemany(
            "INSERT INTO participants (ticket_id, address, address_key, added_by, added_at)"
            " VALUES (?, ?, ?, 'mail', ?)",
            p_rows,
        )
        con.executemany("INSERT INTO message_ids VALUES (?, ?, 'in')", m_rows)
        con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()


def timed(url: str, who: str, repeat: int) -> tuple[float, float, int]:
    """p50 and max milliseconds of ``repeat`` GETs as ``who``, and the page's size."""
    took, size = [], 0
    for _ in range(repeat):
        req = urllib.request.Request(url, headers={"X-Forwarded-Email": who})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
            assert r.status == 200 and b"<main>" in body and b'id="refused"' not in body, url
        took.append((time.perf_counter() - t0) * 1000)
        size = len(body)
    return statistics.median(took), max(took), size


async def run(tickets: int, repeat: int) -> list[tuple[str, str, float, float, int]]:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        base = Path(tmp)
        data = merge(
            base_config(base),
            {
                "web": {"trusted_header": "X-Forwarded-Email"},
                "metrics": {"enabled": False},
                "smtp": {"port": 1},
                "scheduler": {"tick_seconds": 3600},
            },
        )
        data["people"] = [
            *data["people"],
            {"name": "Sid Consultant", "address": "sc1@example.com", "role": "sc"},
        ]
        data["accounts"] = [
            *data["accounts"],
            *(
                {"name": a, "domains": [f"a{n}.example"], "sc": "sc1@example.com"}
                for n, a in enumerate(ACCOUNTS[:10])
            ),
        ]
        config = parse_config(data)
        store = Store(config.database.path)
        await store.start()  # the schema
        await store.stop()
        t0 = time.perf_counter()
        await asyncio.to_thread(fill, Path(config.database.path), tickets)
        print(f"stored {tickets} tickets in {time.perf_counter() - t0:.1f} s")
        gw = Gateway(config, FakeClock(END), drain_seconds=2)
        await gw.start()
        try:
            url = f"http://127.0.0.1:{gw.web_port}"
            pages = [
                ("lead", "lee@example.com", "/tickets"),
                ("lead", "lee@example.com", "/tickets?page=50"),
                ("lead", "lee@example.com", "/tickets?account=Account+7&state=resolved"),
                ("lead", "lee@example.com", "/tickets?due=overdue"),
                ("lead", "lee@example.com", "/tickets?q=Problem+4242"),
                ("lead", "lee@example.com", f"/tickets/SUP-{tickets // 2}"),
                ("sc", "sc1@example.com", f"/tickets/SUP-{(tickets // 60 - 1) * 60 + 8}"),
                ("lead", "lee@example.com", "/report"),
                ("lead", "lee@example.com", "/report?since=2026-08-01&until=2026-11-23"),
                ("sc", "sc1@example.com", "/tickets"),
                ("sc", "sc1@example.com", "/tickets?state=answered"),
            ]
            out = []
            for role, who, path in pages:
                p50, worst, size = await asyncio.to_thread(timed, url + path, who, repeat)
                out.append((role, path, p50, worst, size))
            return out
        finally:
            await gw.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    rows = asyncio.run(run(args.tickets, args.repeat))
    print(f"\n{'who':4}  {'page':45}  {'p50 ms':>7}  {'max ms':>7}  {'bytes':>7}")
    for role, path, p50, worst, size in rows:
        print(f"{role:4}  {path:45}  {p50:7.1f}  {worst:7.1f}  {size:7}")


if __name__ == "__main__":
    main()
