"""``support-gateway erase --address A``: remove a person's mail and personal data everywhere
(GDPR art. 17, the right to erasure), and say what was removed.

Every ticket the person asked is forgotten whole (see :mod:`gateway.store.forget`: its mail,
subject, names, addresses and words go; its dates and figures stay, anonymised). On someone
else's ticket that they only took part in (in CC), they are taken off it and the mail they wrote
there is emptied; the ticket is its customer's and stays, with our mail on it that quoted them
(an outsider who got themselves copied cannot have a customer's ticket erased; it is forgotten
whole at retention). Every mail on no ticket (quarantine, spam, robots, alerts) that names the
address in a header is emptied; every row that names the address itself (caps, bounce
records, leave, web sign-in) goes. The database is then rewritten (VACUUM), so nothing of it
is left in free pages either. Staff addresses stay on the tickets they owned: the team's record.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
from collections import Counter
from email.parser import BytesParser
from email.utils import getaddresses
from functools import partial

from gateway.cli.options import config_arguments
from gateway.core.clock import Clock
from gateway.core.config import Config
from gateway.store import Store, forget
from gateway.store.db import Db

HEADERS = ("from", "to", "cc", "bcc", "reply-to", "sender", "return-path", "delivered-to")
BATCH = 500


def names(raw: bytes, address: str, headers: tuple[str, ...] = HEADERS) -> bool:
    """Whether a mail's ``headers`` name ``address``."""
    head = BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
    values = [str(v) for h in headers for v in head.get_all(h) or []]
    return any(a.lower() == address for _, a in getaddresses(values))


async def erase(config: Config, clock: Clock, address: str, vacuum: bool = True) -> Counter[str]:
    address = address.strip().lower()
    async with Store(config.database.target) as store:
        tickets = await store.run(lambda db: forget.tickets_of(db, address))
        joined = await store.run(lambda db: forget.tickets_joined(db, address))
        theirs = await store.run(lambda db: forget.ticket_mail_in(db, joined))
        inbound = [i for i, raw in theirs if names(raw, address, ("from", "sender"))]
        outbound: list[int] = []
        last = 0
        while True:  # read in batches, outside any write
            batch = await store.run(partial(forget.unticketed_mail, after_id=last, limit=BATCH))
            for direction, row_id, raw in batch:
                if names(raw, address):
                    (inbound if direction == "in" else outbound).append(row_id)
            if len(batch) < BATCH:
                break
            last = batch[-1][1]
        now = clock.now()

        def job(db: Db) -> Counter[str]:
            gone = forget.forget_tickets(db, tickets, now)
            gone += forget.forget_participant(db, joined, address)
            gone += forget.forget_mail(db, inbound, outbound)
            gone += forget.forget_address(db, address)
            forget.compact_search(db)
            return gone

        gone = await store.run(job)
        gone["tickets"] = len(tickets)
        gone["taken off tickets"] = len(joined)
        if vacuum:
            await store.rewrite()
    return gone


def render(address: str, gone: Counter[str], vacuum: bool) -> str:
    lines = [f"erased {address}:"]
    for what in (
        "tickets",
        "taken off tickets",
        "mails in",
        "mails out",
        "dates' wording",
        "people",
        "message-ids",
        "decisions",
        "automatic-mail counts",
        "staff-mail counts",
        "bounce records",
        "leave",
        "web password",
        "web actions",
    ):
        lines.append(f"  {what:22} {gone.get(what, 0)}")
    lines.append(
        "  the database was rewritten: nothing is left in free pages"
        if vacuum
        else "  not rewritten (--no-vacuum): removed content may linger in free pages until VACUUM"
    )
    return "\n".join(lines)


def arguments(parser: argparse.ArgumentParser) -> None:
    config_arguments(parser)
    parser.add_argument("--address", required=True, help="the person's email address")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="do not rewrite the database afterwards (faster; removed content may linger)",
    )


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.core.clock import SystemClock

    vacuum = not args.no_vacuum
    gone = asyncio.run(erase(teams[0][1], SystemClock(), args.address, vacuum=vacuum))
    print(render(args.address.strip().lower(), gone, vacuum))
    return 0
