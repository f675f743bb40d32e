"""The simulated world of ``support-gateway simulate`` (gateway/cli/simulate.py says what it
is): the traffic, the SEs' days, the tickets' lives, and the figures read from the ledger."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from gateway.core.clock import FakeClock
from gateway.core.config import Config, parse_config
from gateway.core.models import DateKind
from gateway.daemon.processor import Processor
from gateway.daemon.scheduler import Scheduler
from gateway.mail import conversation
from gateway.pipeline.acting import relay_for
from gateway.pipeline.work import Services
from gateway.promise.calendar import BusinessCalendar
from gateway.store import Db, Store, inbox, tickets
from gateway.store.commitments import open_for

# What the simulated SEs write: an answer, as the gateway reads one (a greeting alone answers
# nothing, and its dates would stay open until they were missed).
ANSWER = (
    "Hello,\n\nThe export fails because the file is over 2 GB. Export a month at a time and it"
    " goes through; we are looking at lifting the limit.\n"
)
FIXED = "The limit is lifted: an export of any size now goes through in one file.\n"
SETTLE_DAYS = 10  # after the last arrival, time for the last tickets to be answered


@dataclass(frozen=True)
class Traffic:
    """The synthetic world; the defaults are a mid-sized B2B team's year."""

    tickets_per_day: float = 19.0  # new tickets a business day, on average
    after_hours_share: float = 0.2
    burst_days: int = 12  # incident days a year, with three hours at three times the rate
    season: float = 0.25  # each quarter swings this much above and below the mean
    reply_minutes: float = 30.0  # median time an SE spends on a reply
    fix_minutes: float = 45.0  # median time on a fix, once investigated
    investigate_hours: float = 6.0  # median business hours before a fix can be worked on
    spread: float = 0.6  # sigma of the lognormal times
    needs_fix_share: float = 0.6
    follow_up_share: float = 0.25
    urgent_share: float = 0.03
    leave_days: int = 15  # per SE a year, in blocks of one to five business days
    focus: float = 0.8  # share of open hours an SE spends on tickets (meetings, calls, the rest)

    def replies_per_day(self) -> float:
        """What a lead who timed this team would configure (capacity.replies_per_day): a
        9-hour day's focused minutes over the mean minutes of work per reply (a fix counted in
        the reply it comes with)."""
        mean = math.exp(self.spread**2 / 2)  # a lognormal's mean over its median
        reply = self.reply_minutes * mean
        per_ticket = reply * (1 + self.follow_up_share) + self.fix_minutes * mean * (
            self.needs_fix_share
        )
        return 9 * 60 * self.focus / (per_ticket / (1 + self.follow_up_share))


@dataclass
class Figures:
    policy: str
    ses: int
    tickets: int
    dates_given: int
    kept: float  # share of dates given (that came due) kept
    revised_per_100: float
    ack_within_hour: float
    reply_within_target: float  # first actionable response by the policy's date
    resolved_within_target: float
    first_dates_within_target: float  # first reply dates given no later than the policy's
    median_promised_hours: float  # business hours from receipt to the first reply date given


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    data: Any = field(compare=False, default=None)


@dataclass
class _Ticket:
    id: int
    customer: str
    message_id: str
    needs_fix: bool
    follow_up: bool
    owes_reply: bool = True
    fix_ready: datetime | None = None
    done: bool = False
    busy: bool = False
    subject: str = ""


class World:
    """One run: a policy, a team size, the traffic; everything on one fake clock."""

    def __init__(
        self,
        base: dict[str, Any],
        traffic: Traffic,
        ses: int,
        capacity: bool,
        start: date,
        days: int,
        seed: int,
        db_path: str,
    ) -> None:
        self.traffic, self.days, self.start = traffic, days, start
        self.rng = random.Random(seed)
        self.leave_rng = random.Random(seed + 1)  # the same leave for either policy
        self.team = [f"se{i + 1}@example.com" for i in range(ses)]
        data = _config(base, traffic, self.team, capacity, db_path)
        cal = BusinessCalendar.from_config(parse_config(data).hours)
        for person in data["people"]:
            if person["role"] == "se":
                person["away"] = self._leave(cal)
        self.config: Config = parse_config(data)
        self.cal = BusinessCalendar.from_config(self.config.hours)
        first = datetime.combine(start, datetime.min.time(), tzinfo=self.cal.tz).astimezone(UTC)
        self.clock = FakeClock(first)
        self.store = Store(db_path)
        self.s = Services.build(self.config, self.clock)
        self.processor = Processor(self.store, self.s)
        self.scheduler = Scheduler(self.store, self.s)
        self.events: list[_Event] = []
        self.seq = itertools.count()
        self.tickets: dict[int, _Ticket] = {}
        self.busy_until: dict[str, datetime] = {}
        self.n = itertools.count(1)

    # -- the year ---------------------------------------------------------------------------

    def _leave(self, cal: BusinessCalendar) -> list[str]:
        days: list[str] = []
        left = round(self.traffic.leave_days * self.days / 365)
        while left > 0:
            length = min(left, self.leave_rng.randint(1, 5))
            d = cal.business_day_after(self.start, self.leave_rng.randrange(self.days))
            block = [d]
            while len(block) < length:
                block.append(cal.business_day_after(block[-1]))
            days += [b.isoformat() for b in block]
            left -= length
        return days

    def _arrivals(self) -> None:
        t, cal = self.traffic, self.cal
        n_bursts = min(self.days, round(t.burst_days * self.days / 365))
        bursts = set(self.rng.sample(range(self.days), n_bursts))
        in_hours_rate = t.tickets_per_day * (1 - t.after_hours_share) / 9
        closed_hours = 24 * 7 - 45  # a week's closed hours
        closed_rate = t.tickets_per_day * 5 * t.after_hours_share / closed_hours
        weekday = (1.25, 1.1, 1.0, 0.95, 0.7, 1.0, 1.0)
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            for hour in range(24):
                at = datetime(day.year, day.month, day.day, hour, tzinfo=cal.tz)
                rate = in_hours_rate * weekday[day.weekday()] if cal.is_open(at) else closed_rate
                # The quarter's last weeks are busier than its first (renewals, releases).
                rate *= 1 + t.season * math.sin(2 * math.pi * (day.toordinal() % 91) / 91 - 1.2)
                if offset in bursts and 10 <= hour < 13 and cal.is_business_day(day):
                    rate *= 3
                for _ in range(_poisson(self.rng, rate)):
                    when = at + timedelta(seconds=self.rng.uniform(0, 3600))
                    self._push(when.astimezone(UTC), "arrive")

    def _push(self, at: datetime, kind: str, data: Any = None) -> None:
        heapq.heappush(self.events, _Event(at, next(self.seq), kind, data))

    async def run(self) -> None:
        await self.store.start()
        try:
            self._arrivals()
            end = self.clock.now() + timedelta(days=self.days)
            tick = self.clock.now()
            while tick < end + timedelta(days=SETTLE_DAYS):
                self._push(tick, "tick")
                # Every quarter hour while open (dates fall due then), hourly when closed.
                tick += timedelta(minutes=15 if self.cal.is_open(tick) else 60)
            while self.events:
                ev = heapq.heappop(self.events)
                self.clock.set(ev.at)
                await getattr(self, f"_on_{ev.kind}")(ev.data)
                await self._assign_work()
        finally:
            await self.store.stop()

    # -- what happens -----------------------------------------------------------------------

    async def _on_tick(self, _: None) -> None:
        await self.scheduler.tick()

    async def _on_arrive(self, _: None) -> None:
        n = next(self.n)
        customer = f"customer{n}@account{n % 40}.example"
        subject = f"Problem {n}: the nightly export fails"
        body = f"Our nightly export fails with error E{n}. Why does it fail?\n"
        mid = await self._mail(customer, "support@example.com", subject, body)
        t = await self.store.run(lambda db: tickets.by_message_ids(db, (mid,)))
        if t is None:
            return  # nothing opened (the pipeline said why; the figures count tickets)
        r = self.traffic
        sim = _Ticket(
            t.id,
            customer,
            mid,
            needs_fix=self.rng.random() < r.needs_fix_share,
            follow_up=self.rng.random() < r.follow_up_share,
            subject=subject,
        )
        self.tickets[t.id] = sim
        if self.rng.random() < r.urgent_share:
            await self._se_mail(sim, "#priority urgent")

    async def _on_follow_up(self, sim: _Ticket) -> None:
        if sim.done:
            return
        body = f"Thanks. And does the import of ticket {sim.id} fail the same way?\n"
        sim.message_id = await self._mail(
            sim.customer, "support@example.com", "Re: " + sim.subject, body, sim.message_id
        )
        sim.owes_reply = True

    async def _on_done(self, data: tuple[str, _Ticket, str]) -> None:
        _se, sim, what = data
        sim.busy = False
        if what == "reply":
            sim.owes_reply = False
            resolve = not sim.needs_fix and not sim.follow_up
            await self._se_mail(sim, ("#resolved\n" if resolve else "") + ANSWER)
            if sim.follow_up:
                sim.follow_up = False
                later = timedelta(hours=self.rng.uniform(1, 30))
                self._push(self.clock.now() + later, "follow_up", sim)
            elif resolve:
                sim.done = True
            elif sim.fix_ready is None:
                hours = _lognormal(self.rng, self.traffic.investigate_hours, self.traffic.spread)
                sim.fix_ready = self.cal.add_business_time(self.clock.now(), hours)
        else:
            await self._se_mail(sim, "#resolved\n" + FIXED)
            sim.done = True

    # -- the engineers ----------------------------------------------------------------------

    async def _assign_work(self) -> None:
        now = self.clock.now()
        if not self.cal.is_open(now):
            return
        today = self.cal.local_date(now)
        idle = [
            se
            for se in self.team
            if self.busy_until.get(se, now) <= now and self.s.directory.available(se, today)
        ]
        if not idle:
            return
        queues = await self._queues(now)
        for se in idle:
            if not queues.get(se):
                continue
            # Replies the customer was promised first, the earliest date first; fixes (due by
            # the resolution target, never promised) when no reply is waiting.
            _, sim, what = min(queues[se], key=lambda q: (q[2] != "reply", q[0]))
            queues[se].remove(next(q for q in queues[se] if q[1] is sim))
            minutes = self.traffic.reply_minutes if what == "reply" else self.traffic.fix_minutes
            took = _lognormal(self.rng, minutes / 60, self.traffic.spread) / self.traffic.focus
            finish = self.cal.add_business_time(now, took)
            sim.busy = True
            self.busy_until[se] = finish
            self._push(finish, "done", (se, sim, what))

    async def _queues(self, now: datetime) -> dict[str, list[tuple[datetime, _Ticket, str]]]:
        """Each SE's work that can be done now, with the date it is due (the earliest first)."""
        out: dict[str, list[tuple[datetime, _Ticket, str]]] = {}
        far = now + timedelta(days=3650)
        for sim in list(self.tickets.values()):
            if sim.done:
                del self.tickets[sim.id]  # the figures come from the ledger
        ready = [
            sim
            for sim in self.tickets.values()
            if not sim.busy
            and (
                sim.owes_reply
                or (sim.fix_ready is not None and sim.fix_ready <= now and not sim.owes_reply)
            )
        ]

        def read(db: Db) -> None:
            for sim in ready:
                t = tickets.get(db, sim.id)
                dates = open_for(db, sim.id)
                kinds = (
                    (DateKind.ACTIONABLE, DateKind.POINT)
                    if sim.owes_reply
                    else (DateKind.RESOLUTION,)
                )
                due = min((c.due_at for c in dates if c.kind in kinds), default=far)
                out.setdefault(t.se, []).append((due, sim, "reply" if sim.owes_reply else "fix"))

        await self.store.run(read)
        return out

    # -- mail -------------------------------------------------------------------------------

    async def _mail(
        self, sender: str, to: str, subject: str, body: str, in_reply_to: str = ""
    ) -> str:
        n = next(self.n)
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = subject
        mid = f"<sim-{n}@{sender.split('@')[1]}>"
        msg["Message-ID"] = mid
        msg["Date"] = format_datetime(self.clock.now().astimezone(self.cal.tz))
        if in_reply_to:
            msg["In-Reply-To"] = msg["References"] = in_reply_to
        msg.set_content(body)
        now = self.clock.now()
        raw = msg.as_bytes()
        keys = conversation.keys(raw)
        await self.store.run(
            lambda db: inbox.store_raw(db, raw, now, now, source="simulate", keys=keys)
        )
        await self.processor.process_pending()
        return mid

    async def _se_mail(self, sim: _Ticket, body: str) -> None:
        t = await self.store.run(lambda db: tickets.get(db, sim.id))
        await self._mail(t.se, relay_for(self.s, t), f"Re: [{t.key}]", body + "\n")


def _poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method (rates here are a few an hour)."""
    limit, k, p = math.exp(-rate), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _lognormal(rng: random.Random, median_hours: float, sigma: float) -> timedelta:
    return timedelta(hours=rng.lognormvariate(math.log(median_hours), sigma))


def _config(
    base: dict[str, Any], traffic: Traffic, team: list[str], capacity: bool, db: str
) -> dict[str, Any]:
    data = dict(base)
    people = [{"name": f"Engineer {i + 1}", "address": a, "role": "se"} for i, a in enumerate(team)]
    people += [
        {"name": "Casey Consultant", "address": "casey@example.com", "role": "sc"},
        {"name": "Lee Lead", "address": "lee@example.com", "role": "lead"},
    ]
    data.update(
        support={"address": "support@example.com", "display_name": "Example Support"},
        imap={"enabled": False},
        database={"path": db},
        people=people,
        accounts=[],
        products=[],
        routing={"default_se": team[0], "default_sc": "casey@example.com"},
        # The simulated team's figure is exact (it is computed from the same distributions), so
        # no headroom is kept for a lead's wrong guess; a config passed in may say otherwise.
        capacity={
            "replies_per_day": round(traffic.replies_per_day(), 1),
            "headroom": 1.0,
            **base.get("capacity", {}),
            "enabled": capacity,
        },
    )
    data["safety"] = {**base.get("safety", {}), "max_auto_per_hour": 50, "max_auto_per_day": 500}
    return data
