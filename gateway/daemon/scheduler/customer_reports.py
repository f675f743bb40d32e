"""The scheduler's job: each account's report of its tickets (``reports.customer_every_weeks``,
on ``reports.customer_weekday`` at the team's opening): every open ticket with its status and
next date, and what was resolved since the last report; to the account's contacts (else the
people on its open tickets), the SC in copy, in the customer's language."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from gateway.core.config import Account
from gateway.core.config.base import WEEKDAYS
from gateway.core.log import event
from gateway.core.models import MailKind, Outbound, Periodic, Ticket
from gateway.mail.mime import Envelope
from gateway.mail.templating import Template
from gateway.pipeline.work import Services
from gateway.promise import ledger
from gateway.promise.words import kind_words, when
from gateway.store import Db, board, participants, sends
from gateway.text.speech import Status

if TYPE_CHECKING:
    from gateway.daemon.scheduler import Scheduler

log = logging.getLogger("gateway.scheduler")


def due_today(s: Services, last: datetime | None, now: datetime) -> bool:
    """Whether an account whose report last went at ``last`` gets one now: the report's
    weekday, the team open that day and past its opening, and the cadence's weeks since."""
    cal, reports = s.calendar, s.config.reports
    today = cal.local_date(now)
    if WEEKDAYS[today.weekday()] != reports.customer_weekday or not cal.windows(today):
        return False
    if now < cal.windows(today)[0][0]:
        return False
    # A report that went late (the daemon was down on the day) keeps the weekday's rhythm.
    return (
        last is None or (today - cal.local_date(last)).days > 7 * reports.customer_every_weeks - 7
    )


async def run(sch: Scheduler, now: datetime) -> int:
    s = sch.s
    if not s.config.reports.customer_every_weeks or not due_today(s, None, now):
        return 0  # not the report's day (or before the team opens): nothing to read
    today = s.calendar.local_date(now)
    sent = 0
    for account in (a for a in s.config.accounts if a.report):
        if sch.sent_on.get((Periodic.CUSTOMER_REPORT, account.name)) == today:
            continue

        def job(db: Db, account: Account = account) -> bool:
            last = sends.last(db, Periodic.CUSTOMER_REPORT, account.name)
            midnight = datetime.combine(today, time(0), tzinfo=s.calendar.tz)
            if not due_today(s, last, now) or not sends.claim(
                db, Periodic.CUSTOMER_REPORT, account.name, now, since=midnight
            ):
                return False
            mails = reports(s, db, account, last, now)
            if not mails:
                return False
            ledger.queue_unfiled(db, mails, now)
            event(log, "customer-report", account=account.name, mails=len(mails))
            return True

        try:
            sent += await sch.store.run(job)
            sch.sent_on[(Periodic.CUSTOMER_REPORT, account.name)] = today  # settled for today
        except Exception as exc:  # ours (a template, a bug): the others go on, retried next pass
            sch.fault("customer-report", exc)
    return sent


def reports(
    s: Services, db: Db, account: Account, last: datetime | None, now: datetime
) -> list[Outbound]:
    """The account's reports as of ``now``: one to ``report_contacts`` of all its tickets, or,
    with none configured, one to each person on its open tickets of the tickets they are on (a
    ticket's mail goes to its people and nobody else). None when there is nothing to report."""
    weeks = s.config.reports.customer_every_weeks or 2
    found = board.of(db, [account.name], last or now - timedelta(weeks=weeks), now)
    if not found.open and not found.resolved:
        return []
    if account.report_contacts:
        whom = [a.lower() for a in account.report_contacts]
        return [_mail(s, db, account, whom, found.open, found.resolved, now)]
    people = {t.id: participants.of(db, t.id) for t in found.open + found.resolved}
    mails = []
    for person in dict.fromkeys(p for t in found.open for p in people[t.id]):
        mine = [t for t in found.open if person in people[t.id]]
        done = [t for t in found.resolved if person in people[t.id]]
        mails.append(_mail(s, db, account, [person], mine, done, now))
    return mails


def _mail(
    s: Services,
    db: Db,
    account: Account,
    to: list[str],
    open_: list[Ticket],
    resolved: list[Ticket],
    now: datetime,
) -> Outbound:
    tz = s.calendar.tz
    language = account.language or _usual([t.language for t in open_ + resolved])
    nexts = board.next_dates(db, [t.id for t in open_])
    open_rows = [
        {
            "key": t.key,
            "subject": t.subject,
            "status": Status(t.state.value, s.directory.name_of(t.se)),
            "what": kind_words(nexts[t.id].kind, nexts[t.id].point) if t.id in nexts else "",
            "next": when(nexts[t.id].due_at, tz) if t.id in nexts else "",
        }
        for t in open_
    ]
    resolved_rows = [
        {"key": t.key, "subject": t.subject, "resolved": when(t.resolved_at or now, tz)}
        for t in resolved
    ]
    sc = account.sc or s.config.routing.default_sc
    return s.composer.build(
        MailKind.CUSTOMER_REPORT,
        Template.CUSTOMER_REPORT,
        None,
        Envelope(to=tuple(to), cc=(sc,) if sc else ()),
        {
            "customer_name": "",  # an account's report: "Hello,"
            "account": account.name,
            "as_of": when(now, tz),
            "sc_name": s.directory.name_of(sc) if sc else "",
            "open": open_rows,
            "resolved": resolved_rows,
        },
        subject=s.composer.speech(language).report_subject(len(open_), now.astimezone(tz)),
        language=language,
    )


def _usual(languages: list[str]) -> str:
    """The language most of the account's tickets are written in ('en' when none)."""
    counted = Counter(lang for lang in languages if lang)
    return counted.most_common(1)[0][0] if counted else "en"
