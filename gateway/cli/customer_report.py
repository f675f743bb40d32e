"""``support-gateway customer-report ACCOUNT --preview``: the account's report of its tickets as
it would go now (its open tickets with status and next date, what was resolved since the last
one), printed; nothing is sent or recorded. The daemon sends it on its day
(``reports.customer_every_weeks``, ``reports.customer_weekday``)."""

from __future__ import annotations

import argparse
import email
import email.policy
import sys
from typing import TYPE_CHECKING

from gateway.cli.options import config_arguments, instant

if TYPE_CHECKING:
    from gateway.core.config import Config


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("account", help="the account's name, as [[accounts]] gives it")
    parser.add_argument(
        "--preview",
        action="store_true",
        help="print the report as it would go now (the only form: the daemon sends them);"
        " with no report_contacts, one for each person on its open tickets, of theirs",
    )
    parser.add_argument("--at", type=instant, default=None, help="as of this time (ISO 8601)")


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.core.clock import FakeClock, SystemClock
    from gateway.core.models import Periodic
    from gateway.daemon.scheduler.customer_reports import reports
    from gateway.pipeline.work import Services
    from gateway.store import sends
    from gateway.store.db import read_once

    config = teams[0][1]
    if not args.preview:
        print("customer-report: only --preview (the daemon sends reports on their day)",
              file=sys.stderr)  # fmt: skip
        return 2
    account = next((a for a in config.accounts if a.name == args.account), None)
    if account is None:
        names = ", ".join(a.name for a in config.accounts) or "none configured"
        print(f"customer-report: no account {args.account!r} ({names})", file=sys.stderr)
        return 2
    clock = FakeClock(args.at) if args.at else SystemClock()
    services = Services.build(config, clock)
    now = clock.now()
    try:
        mails = read_once(
            config.database.target,
            lambda db: reports(
                services, db, account, sends.last(db, Periodic.CUSTOMER_REPORT, account.name), now
            ),
        )
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not mails:
        print(f"{account.name}: no report now: no open ticket and nothing resolved since the"
              " last report")  # fmt: skip
        return 0
    for n, mail in enumerate(mails):
        msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
        print("\n" + "-" * 72 + "\n" if n else "", end="")
        for header in ("To", "Cc", "Subject"):
            print(f"{header}: {msg[header] or ''}")
        body = msg.get_body(("plain",))
        print()
        print(body.get_content() if body is not None else "")
    return 0
