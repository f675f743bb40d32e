"""``support-gateway explain``: why did (or would) this mail get what it got?

A dry run of the real pipeline with no side effects: the database (if there is one) is copied
into memory read-only, the clock is fixed at ``--at`` (the mail is taken as received then), no
secret is read and nothing touches the network. It answers an operator's "why did this customer
get no acknowledgement?" with each rule's verdict, the thread match, the route, the dates we would
promise and the mails we would send.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import json
from datetime import datetime
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from gateway.cli.options import config_arguments, instant
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.core.models import Action, DateKind, MailClass
from gateway.pipeline.order import run_pipeline
from gateway.pipeline.work import Done, Services, Work
from gateway.store import Db, Store
from gateway.store.inbox import InboxRow

# The operator's vocabulary for what happened to a message (every Action has its word:
# tests/test_vocabularies.py).
PUBLIC_ACTION: dict[Action, str] = {
    Action.ACKNOWLEDGE: "acknowledge",
    Action.FOLLOW_UP: "attach",
    Action.ENGINEER_REPLY: "attach",
    Action.ATTACH: "attach",
    Action.DUPLICATE: "suppress",
    Action.RELAY: "attach",
    Action.REFUSED: "suppress",
    Action.SUPPRESS: "suppress",
    Action.QUARANTINE: "quarantine",
    Action.SPAM: "spam",
    Action.ASK_FORWARDER: "ask",  # a staff forward naming no customer: its sender is asked
    Action.RELEASED: "release",  # an operator's, never the dry run's
}


async def explain(config: Config, raw: bytes, at: datetime) -> dict[str, Any]:
    """The decision for ``raw`` received at ``at``, as a JSON-able dict."""
    clock = FakeClock(at)
    services = Services.build(config, clock)
    if config.database.url:  # the dry run's transaction is rolled back (Store.try_out)
        store = Store(config.database.url)
        await store.start()
    else:  # an in-memory copy: not even a lock on the daemon's file
        store = Store(":memory:")
        db_file = Path(config.database.path)
        exists = await asyncio.to_thread(db_file.exists)
        await store.start(copy_of=str(db_file) if exists else None)
    work = Work(row=InboxRow(0, "explain", "", 0, 0, raw, clock.now()), now=clock.now())
    try:

        def job(db: Db) -> Done:
            try:
                return run_pipeline(services, work, db)
            except Exception as exc:  # what the processor would quarantine
                return Done(Action.QUARANTINE, f"{type(exc).__name__}: {exc}")

        # Nothing of the dry run is kept, even in memory.
        done = await store.try_out(job)
    finally:
        await store.stop()
    return _report(services, work, done)


def _report(s: Services, w: Work, done: Done) -> dict[str, Any]:
    promises = {p.kind: p for p in w.promises}
    actionable = promises.get(DateKind.ACTIONABLE)
    outbound = []
    for out in w.outgoing:
        msg = BytesParser(policy=email.policy.default).parsebytes(out.raw, headersonly=True)
        outbound.append(
            {
                "kind": out.kind,
                "to": str(msg["To"] or ""),
                "cc": str(msg["Cc"] or ""),
                "subject": str(msg["Subject"] or ""),
            }
        )
    tz = s.calendar.tz
    return {
        "action": PUBLIC_ACTION[done.action],
        "detail": done.action.value,
        "reason": done.reason,
        "classification": str(
            w.mail_class or (MailClass.MALFORMED if done.action is Action.QUARANTINE else "")
        ),
        "reasons": [
            f"{step}: {verdict}{': ' + why if why else ''}" for step, verdict, why in w.decisions
        ],
        "received_at": w.row.received_at.astimezone(tz).isoformat(),
        "ticket": w.ticket.key if w.ticket else None,
        "language": w.ticket.language if w.ticket else None,  # of the customer's mail
        "route": {"se": w.route.se, "sc": w.route.sc, "why": w.route.reason} if w.route else None,
        "eta": actionable.due.astimezone(tz).isoformat() if actionable else None,
        "commitments": [
            {
                "kind": p.kind,
                "due": p.due.astimezone(tz).isoformat(),
                "words": words_for(s, w, p.due),
                "replaces_missed": p.missed.astimezone(tz).isoformat() if p.missed else None,
            }
            for p in w.promises
        ],
        "outbound": outbound,
    }


def words_for(s: Services, w: Work, t: datetime) -> str:
    return s.when(t, w.ticket) if w.ticket else str(t)


def render_text(report: dict[str, Any]) -> str:
    lines = [
        f"action:         {report['action']} ({report['detail']}): {report['reason']}",
        f"classification: {report['classification']}",
        f"received:       {report['received_at']}",
        f"ticket:         {report['ticket'] or '-'}",
    ]
    if report["route"]:
        r = report["route"]
        lines.append(f"route:          SE {r['se']}, SC {r['sc'] or '-'} ({r['why']})")
    lines.append("decisions:")
    lines += [f"  {line}" for line in report["reasons"]]
    if report["commitments"]:
        lines.append("commitments:")
        for c in report["commitments"]:
            extra = (
                f" (replaces {c['replaces_missed']}, already passed)"
                if c["replaces_missed"]
                else ""
            )
            lines.append(f"  {c['kind']}: {c['words']}{extra}")
    lines.append("would send:" if report["outbound"] else "would send: nothing")
    for o in report["outbound"]:
        cc = f", cc {o['cc']}" if o["cc"] else ""
        lines.append(f"  {o['kind']}: to {o['to']}{cc}: {o['subject']}")
    return "\n".join(lines)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--at",
        type=instant,
        help="take the mail as received at this instant (ISO 8601 with offset; default: now)",
    )
    parser.add_argument("message", help="the mail as an .eml file (RFC 5322)")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.core.clock import SystemClock

    raw = Path(args.message).read_bytes()
    report = asyncio.run(explain(teams[0][1], raw, args.at or SystemClock().now()))
    print(to_json(report) if args.json else render_text(report))
    return 0
