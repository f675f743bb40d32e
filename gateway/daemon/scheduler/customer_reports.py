"""The scheduler's job: each account's report of its tickets (``reports.customer_every_weeks``,
on ``reports.customer_weekday`` at the team's opening): every open ticket with its status and
next date, and what was resolved since the last report; to the account's contacts (else the
people on its open tickets), the SC in copy, in the customer's language."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gateway.core.config import Account
from gateway.core.config.base import WEEKDAYS
from gateway.core.log import event
from gateway.core.models import MailKind, Outbound, Periodic
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
    if not s.config.reports.customer_every_weeks:
        return 0
    sent = 0
    for account in (a for a in s.config.accounts if a.report):

        def job(db: Db, account: Account = account) -> bool:
            last = sends.last(db, Periodic.CUSTOMER_REPORT, account.name)
            if not due_today(s, last, now):
                return False
            sends.mark(db, Periodic.CUSTOMER_REPORT, account.name, now)
            mail = report(s, db, account, last, now)
            if mail is None:
                return False
            ledger.queue_unfiled(db, [mail], now)
            event(log, "customer-report", account=account.name, to=len(mail.recipients))
            return True

        try:
            sent += await sch.store.run(job)
        except Exception as exc:  # ours (a template, a bug): the others go on, retried next pass
            sch.fault("customer-report", exc)
    return sent


def report(
    s: Services, db: Db, account: Account, last: datetime | None, now: datetime
) -> Outbound | None:
    """The account's report as of ``now`` (None: no open ticket, nothing resolved, or nobody
    to send it to)."""
    weeks = s.config.reports.customer_every_weeks or 2
    since = last or now - timedelta(weeks=weeks)
    found = board.of(db, [account.name], since, now)
    if not found.open and not found.resolved:
        return None
    contacts = [a.lower() for a in account.report_contacts] or list(
        dict.fromkeys(p for t in found.open for p in participants.of(db, t.id))
    )
    if not contacts:
        return None
    tz = s.calendar.tz
    language = account.language or _usual([t.language for t in found.open + found.resolved])
    speech = s.composer.speech(language)
    nexts = board.next_dates(db, [t.id for t in found.open])
    open_rows = [
        {
            "key": t.key,
            "subject": t.subject,
            "status": Status(t.state.value, s.directory.name_of(t.se)),
            "what": kind_words(nexts[t.id].kind, nexts[t.id].point) if t.id in nexts else "",
            "next": when(nexts[t.id].due_at, tz) if t.id in nexts else "",
        }
        for t in found.open
    ]
    resolved = [
        {"key": t.key, "subject": t.subject, "resolved": when(t.resolved_at or now, tz)}
        for t in found.resolved
    ]
    sc = account.sc or s.config.routing.default_sc
    return s.composer.build(
        MailKind.CUSTOMER_REPORT,
        Template.CUSTOMER_REPORT,
        None,
        Envelope(to=tuple(contacts), cc=(sc,) if sc else ()),
        {
            "customer_name": "",  # several people read it: "Hello,"
            "account": account.name,
            "as_of": when(now, tz),
            "sc_name": s.directory.name_of(sc) if sc else "",
            "open": open_rows,
            "resolved": resolved,
        },
        subject=speech.report_subject(len(found.open), now.astimezone(tz)),
        language=language,
    )


def _usual(languages: list[str]) -> str:
    """The language most of the account's tickets are written in ('en' when none)."""
    counted = Counter(lang for lang in languages if lang)
    return counted.most_common(1)[0][0] if counted else "en"
