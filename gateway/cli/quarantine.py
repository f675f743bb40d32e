"""``support-gateway quarantine list | show ID | retry ID | release ID``: the operator's view of
mail the gateway could not process, and of mail an upstream filter called spam. Nothing there is
ever deleted by the gateway.

- ``retry``: process it again (after a fix, or a raised size limit); the running daemon picks
  it up within a tick.
- ``release``: for quarantined mail, mark it handled with no mail sent (the operator dealt with
  it by hand); for spam, overrule the verdict: it is processed as the mail of a person
  (acknowledged, routed) within a tick.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import sys
from datetime import datetime
from email.parser import BytesParser

from gateway.cli.options import EXIT_CONFIG, config_arguments, outcome
from gateway.core.clock import Clock
from gateway.core.config import Config
from gateway.core.models import InboxState
from gateway.mail import conversation
from gateway.store import Db, inbox
from gateway.store.db import write_once


async def run(config: Config, clock: Clock, action: str, inbox_id: int | None) -> tuple[int, str]:
    """Return (exit status, text to print)."""
    now = clock.now()
    return await write_once(config.database.target, lambda db: _act(db, now, action, inbox_id))


def _act(db: Db, now: datetime, action: str, inbox_id: int | None) -> tuple[int, str]:
    if action == "list":
        rows = inbox.quarantined(db)
        if not rows:
            return 0, "quarantine is empty"
        lines = [f"{'id':>6}  {'state':11}  {'received':25}  {'size':>9}  message-id / reason"]
        for i, received, mid, reason, size, state in rows:
            lines.append(f"{i:>6}  {state:11}  {received[:25]:25}  {size:>9}  {mid or '-'}")
            lines.append(f"{'':>6}  {reason}")
        return 0, "\n".join(lines)
    assert inbox_id is not None
    row = inbox.get_row(db, inbox_id)
    if row is None:
        return 1, f"no stored message {inbox_id}"
    if action == "show":
        head = BytesParser(policy=email.policy.compat32).parsebytes(row.raw, headersonly=True)
        headers = "\n".join(f"  {k}: {str(v)[:200]!r}" for k, v in list(head.items())[:40])
        return 0, (
            f"message {inbox_id}: {row.state}, {row.size} bytes, received "
            f"{row.received_at}\nreason:\n  "
            + row.reason.replace("\n", "\n  ")
            + f"\nheaders:\n{headers}"
        )
    if action == "retry":
        ok = inbox.requeue(db, inbox_id, conversation.keys)
        return (
            (0, f"message {inbox_id} will be processed again")
            if ok
            else (1, f"message {inbox_id} is not in quarantine")
        )
    if action == "release" and row.state == InboxState.SPAM:
        inbox.requeue(db, inbox_id, conversation.keys, not_spam=True)
        return 0, f"message {inbox_id} is not spam: it will be processed as a person's mail"
    if action == "release":
        ok = inbox.release(db, inbox_id, now)
        return (
            (0, f"message {inbox_id} released: marked handled, nothing sent")
            if ok
            else (1, f"message {inbox_id} is not in quarantine")
        )
    return 2, f"unknown action {action}"


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("action", choices=["list", "show", "retry", "release"])
    parser.add_argument("id", nargs="?", type=int, help="the message's id (from list)")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.core.clock import SystemClock

    if args.action != "list" and args.id is None:
        print(f"quarantine {args.action} needs the message's id", file=sys.stderr)
        return EXIT_CONFIG
    return outcome(*asyncio.run(run(teams[0][1], SystemClock(), args.action, args.id)))
