"""The scheduler's job: each SC's digest at the start of their shift (``reports.sc_digest``):
their accounts' new tickets, the dates due that day, at risk and missed, what was resolved, and
the customers who sound unhappy with us; none on a day with nothing to say."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from gateway.core.log import event
from gateway.core.models import MailKind, Outbound, Periodic
from gateway.mail.mime import Envelope
from gateway.mail.templating import Template
from gateway.pipeline.work import Services
from gateway.promise import ledger
from gateway.promise.followup import sections
from gateway.store import Db, board, sends
from gateway.store.board import Board

if TYPE_CHECKING:
    from gateway.daemon.scheduler import Scheduler

log = logging.getLogger("gateway.scheduler")


async def run(sch: Scheduler, now: datetime) -> int:
    s = sch.s
    if not s.config.reports.sc_digest:
        return 0
    sent = 0
    for sc, accounts in s.directory.sc_accounts(s.calendar.local_date(now)).items():
        if not s.directory.on_shift(sc, now):
            continue  # their digest waits for the start of their shift
        if sch.sent_on.get((Periodic.SC_DIGEST, sc)) == s.directory.hours_of(sc).local_date(now):
            continue  # today's went (or had nothing to say): no need to ask the database

        def job(db: Db, sc: str = sc, accounts: list[str] = accounts) -> bool:
            hours = s.directory.hours_of(sc)
            day = hours.local_date(now)
            last = sends.last(db, Periodic.SC_DIGEST, sc)
            midnight = datetime.combine(day, time(0), tzinfo=hours.tz)
            if not sends.claim(db, Periodic.SC_DIGEST, sc, now, since=midnight):
                return False  # today's went (or, empty, was skipped)
            since = last or now - timedelta(days=1)
            # "Due today": by the end of the SC's day or the team's, whichever is later.
            team = s.calendar.local_date(now)
            ends = [hours.end_of_day(day)]
            ends += [s.calendar.end_of_day(team)] if s.calendar.is_business_day(team) else []
            found = board.of(db, accounts, since, max(ends))
            if not found:
                return False
            ledger.queue_unfiled(db, [digest(s, sc, accounts, found, since, now)], now)
            event(log, "sc-digest", sc=sc, accounts=len(accounts), new=len(found.new))
            return True

        try:
            sent += await sch.store.run(job)
            sch.sent_on[(Periodic.SC_DIGEST, sc)] = s.directory.hours_of(sc).local_date(now)
        except Exception as exc:  # ours (a template, a bug): the others go on, retried next pass
            sch.fault("sc-digest", exc)
    return sent


def digest(
    s: Services, sc: str, accounts: list[str], b: Board, since: datetime, now: datetime
) -> Outbound:
    """The digest mail an SC gets of ``b``, their accounts' board."""
    when = s.staff_when
    listed = sections(s.directory.name_of, s.staff_when, b)
    count = {x["title"].split(" ")[0]: len(x["rows"]) for x in listed}
    return s.composer.build(
        MailKind.SC_DIGEST,
        Template.SC_DIGEST,
        None,
        Envelope(to=(sc,)),
        {
            "accounts": accounts,
            "day_words": when(now),
            "since_words": f"Since your last digest, {when(since)}",
            "sections": listed,
        },
        subject=f"Your accounts today: {count.get('New', 0)} new, {count.get('Due', 0)} due today,"
        f" {count.get('Missed', 0)} missed",
    )
