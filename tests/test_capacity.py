"""Dates the team can keep (issue 15, item 5): before promising a reply date the gateway looks at
who will answer (their leave, the replies they owe first, their record); when the policy's date
is unlikely it routes to an SE who can keep it, or promises an honest later date and alerts the
lead at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest

from gateway.cli.explain import explain
from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config, HoursSection
from gateway.promise import load as capacity
from gateway.promise.calendar import BusinessCalendar
from gateway.store import commitments
from tests.conftest import MONDAY_10, NY, customer_mail, harness, relay_reply
from tests.harness import Harness

CAL = BusinessCalendar.from_config(HoursSection())
NOW = MONDAY_10.astimezone(UTC)
TUESDAY_10 = NOW + timedelta(days=1)


def never_away(d: date) -> bool:
    return False


def se(owed: list[datetime], per_day: float = 8, **kw: object) -> capacity.Candidate:
    fields: dict[str, object] = {
        "se": "sam@example.com",
        "name": "Sam",
        "owed": owed,
        "per_day": per_day,
        "record": None,
        "away": never_away,
    }
    fields.update(kw)
    return capacity.Candidate(**fields)  # type: ignore[arg-type]


def local(t: datetime) -> str:
    return t.astimezone(NY).strftime("%a %H:%M")


# -- the model (pure) ---------------------------------------------------------------------------


def test_an_se_with_nothing_owed_keeps_the_policy_date() -> None:
    e = capacity.estimate(CAL, NOW, TUESDAY_10, se([]))
    assert e.keeps and local(e.likely) == "Mon 11:07"  # one eighth of a 9-hour day
    assert "Sam: 0 replies owed by then at 8 a day, likely Monday 23 November, 11:07" in e.why


def test_an_se_owing_more_than_the_model_reads_keeps_no_new_date() -> None:
    """A backlog: past OWED_MAX owed replies the check reads no further (each message's check
    stays bounded), and the new reply is not likely before the first OWED_MAX are through."""
    owed = [NOW + timedelta(hours=1, seconds=i) for i in range(capacity.OWED_MAX + 100)]
    e = capacity.estimate(CAL, NOW, TUESDAY_10, se(owed))
    assert not e.keeps
    # 201 replies at 8 a business day: 25.1 business days of 9 hours from Monday 10:00.
    assert capacity.OWED_MAX == 200
    assert e.likely == CAL.add_business_time(NOW, timedelta(hours=9) * (201 / 8))
    assert f"more than {capacity.OWED_MAX} replies owed" in e.why


# Two windows a day (a lunch break), Monday to Friday.
SPLIT = BusinessCalendar(NY, [[(time(8), time(12)), (time(13), time(17))]] * 5 + [[], []])


@pytest.mark.parametrize("cal", [CAL, SPLIT], ids=["one window", "lunch break"])
@pytest.mark.parametrize(
    "now",
    [
        NOW,  # Monday 10:00: the first day in part
        NOW - timedelta(hours=3),  # 7:00, before opening: the first day whole
        NOW + timedelta(hours=7),  # 17:00, closing time
        NOW + timedelta(days=5, hours=2),  # Saturday noon
    ],
    ids=["mid-morning", "before opening", "at closing", "saturday"],
)
def test_the_day_walk_agrees_with_the_reply_walk(cal: BusinessCalendar, now: datetime) -> None:
    away = {date(2026, 11, 25), date(2026, 11, 30), date(2026, 12, 1)}
    for per_day, n in ((7, 1), (7, 7), (7, 8), (7, 9), (7, 14), (7, 40), (7, 501), (8, 201)):
        for c in (se([], per_day=per_day), se([], per_day=per_day, away=away.__contains__)):
            walked = capacity._completions(cal, now, c, n)[-1]
            through = capacity._through(cal, now, c, n)
            # The reply walk adds a fraction of a day per reply: microseconds of rounding apart,
            # in the SE's working time (the close of their day and the opening of their next
            # day in are one instant of it).
            apart = working_between(cal, c, min(through, walked), max(through, walked))
            assert apart < timedelta(milliseconds=1), (per_day, n, through, walked)


def working_between(
    cal: BusinessCalendar, c: capacity.Candidate, a: datetime, b: datetime
) -> timedelta:
    """The open time of ``c``'s days in (not away) from ``a`` to ``b``."""
    total, day = timedelta(), cal.local_date(a)
    while day <= cal.local_date(b):
        for start, end in () if c.away(day) else cal.windows(day):
            total += max(timedelta(), min(end, b) - max(start, a))
        day += timedelta(days=1)
    return total


def test_replies_owed_first_push_the_likely_time_past_the_date() -> None:
    owed = [NOW + timedelta(hours=h) for h in range(1, 9)]  # 8 due today: a full day's work
    e = capacity.estimate(CAL, NOW, TUESDAY_10, se(owed))
    # Nine replies are 9/8 of a day: Monday's seven hours, then 3h07 on Tuesday.
    assert not e.keeps and local(e.likely) == "Tue 11:07"
    assert "8 replies owed by then" in e.why


def test_replies_owed_later_count_only_if_the_new_one_would_make_them_late() -> None:
    # Ten replies due Friday: the new one (Tuesday) goes first, and Friday is still far.
    friday = NOW + timedelta(days=4)
    assert capacity.estimate(CAL, NOW, TUESDAY_10, se([friday] * 10)).keeps
    # Eight due at Tuesday 10:30 fill the day to the brim: answering the new one first would
    # make one of them late, so it goes after them.
    tight = [TUESDAY_10 + timedelta(minutes=30)] * 8
    e = capacity.estimate(CAL, NOW, TUESDAY_10, se(tight))
    assert not e.keeps and "8 more owed later would be made late" in e.why
    assert local(e.likely) == "Tue 11:07"


def test_leave_moves_the_work_to_the_day_they_are_back() -> None:
    away_monday = se([], away=lambda d: d == date(2026, 11, 23))
    e = capacity.estimate(CAL, NOW, TUESDAY_10, away_monday)
    assert e.keeps and local(e.likely) == "Tue 09:07"
    away_two = se([], away=lambda d: d in (date(2026, 11, 23), date(2026, 11, 24)))
    assert not capacity.estimate(CAL, NOW, TUESDAY_10, away_two).keeps


def test_a_slow_record_keeps_dates_honest_even_with_an_empty_queue() -> None:
    e = capacity.estimate(CAL, NOW, TUESDAY_10, se([], record=timedelta(hours=12)))
    assert not e.keeps and local(e.likely) == "Tue 13:00"
    assert "recent replies took up to 12 business hours" in e.why
    assert capacity.percentile([timedelta(hours=h) for h in range(1, 11)], 90) == timedelta(hours=9)


def test_choose_prefers_the_routed_se_then_whoever_keeps_the_date() -> None:
    full = [NOW + timedelta(hours=1)] * 12
    sam, dana = se(full), se([], se="dana@example.com", name="Dana")
    chosen, looked = capacity.choose(CAL, NOW, TUESDAY_10, [sam, dana])
    assert chosen.se == "dana@example.com" and chosen.keeps and len(looked) == 2
    chosen, _ = capacity.choose(CAL, NOW, TUESDAY_10, [se([]), dana])
    assert chosen.se == "sam@example.com", "the routed SE keeps the ticket when they can"
    both_full = [sam, se(full, se="dana@example.com", name="Dana", per_day=4)]
    chosen, _ = capacity.choose(CAL, NOW, TUESDAY_10, both_full)
    assert chosen.se == "sam@example.com" and not chosen.keeps, "the sooner of the two"


def test_an_honest_date_is_rounded_up_to_the_hour_within_the_day() -> None:
    at = datetime(2026, 11, 24, 10, 7, tzinfo=NY)
    assert capacity.honest(CAL, at) == datetime(2026, 11, 24, 11, 0, tzinfo=NY)
    late = datetime(2026, 11, 24, 16, 30, tzinfo=NY)
    assert capacity.honest(CAL, late) == datetime(2026, 11, 24, 17, 0, tzinfo=NY)


# -- through the pipeline -----------------------------------------------------------------------


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


async def fill(h: Harness, n: int, domain: str = "acme.example") -> None:
    """``n`` new tickets from as many people (one address gets at most 3 automatic mails an
    hour)."""
    for i in range(n):
        await h.receive(customer_mail(f"fill-{i}", sender=f"user{i}@{domain}"))


async def test_a_full_queue_routes_the_ticket_to_an_se_who_can_keep_the_date(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    config = make_config(capacity={"replies_per_day": 4, "headroom": 1})
    async with harness(config, clock, sink) as h:
        await fill(h, 4)  # Acme's SE, Sam, owes four replies by Tuesday 10:00: his day
        assert {m["To"] for m in kind(h, "se-copy")} == {"sam@example.com"}
        sink.messages.clear()
        await h.receive(customer_mail("next"))
        [copy] = kind(h, "se-copy")
        assert copy["To"] == "dana@example.com"
        assert "Sam Engineer cannot keep the reply date, Dana Default can" in copy.text()
        assert "Tuesday 24 November, 10:00" in kind(h, "ack")[0].text(), "the policy's date"
        assert not kind(h, "capacity-alert")


async def test_when_nobody_can_keep_it_the_customer_gets_a_later_date_and_the_lead_knows(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    config = make_config(capacity={"replies_per_day": 2, "headroom": 1})
    async with harness(config, clock, sink) as h:
        await fill(h, 2)  # Sam's day
        await fill(h, 2, domain="globex.example")  # the least-loaded rule: Dana's day
        sink.messages.clear()
        raw = customer_mail("late", body="Why does the export fail with E42?")
        await h.receive(raw)
        ack = kind(h, "ack")[0].text()
        # Sam owes 2 replies due by Tuesday 10:00 at 2 a day: the third is a day and a half of
        # work from Monday 10:00, likely Tuesday 14:30, promised at 15:00 (policy: 10:00).
        assert "Sam Engineer will answer your question by Tuesday 24 November, 15:00" in ack
        assert "Tuesday 24 November, 10:00" not in ack
        due = await h.scalar(
            "SELECT due_at FROM commitments WHERE kind = 'actionable' ORDER BY id DESC LIMIT 1"
        )
        assert due == "2026-11-24T20:00:00.000000+00:00"
        [alert] = kind(h, "capacity-alert")
        assert alert["To"] == "lee@example.com" and alert["Reply-To"].startswith("support+")
        text = alert.text()
        assert "Policy:    a reply by Tuesday 24 November, 10:00" in text
        assert "Told:      a reply by Tuesday 24 November, 15:00" in text
        assert "- Sam Engineer: 2 replies owed by then at 2 a day" in text
        assert "- Dana Default: 2 replies owed by then at 2 a day" in text
        [copy] = kind(h, "se-copy")
        assert "later than the policy's Tuesday 24 November, 10:00" in copy.text()
        assert "the lead is alerted" in copy.text()
        why = await explain(config, raw.replace(b"customer-late", b"customer-again"), clock.now())
        [reason] = [r for r in why["reasons"] if r.startswith("capacity:")]
        # Sam now owes one more, due 15:00, which answering first would make late; Dana can
        # still do hers by 15:00: the next one goes to her, with the same honest date.
        assert reason.startswith(
            "capacity: later date: Sam Engineer: 2 replies owed by then at 2 a day, 1 more owed"
            " later would be made late, likely Wednesday 25 November, 10:00"
        )
        assert why["route"]["se"] == "dana@example.com"
        assert why["eta"] == "2026-11-24T15:00:00-05:00"


async def test_an_se_who_owes_more_than_the_check_reads_is_passed_over_without_reading_them(
    make_config: Callable[..., Config],
    clock: FakeClock,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store says "more than OWED_MAX" by an index walk; the check then reads none of the
    SE's dates (a backlog's cost per mail stays flat) and the ticket goes to an SE who can."""
    monkeypatch.setattr(capacity, "OWED_MAX", 3)
    config = make_config(capacity={"replies_per_day": 20, "headroom": 1})
    async with harness(config, clock, sink) as h:
        for n in (3, 4):
            assert not await h.store.run(
                lambda db, n=n: commitments.owes_more_than(db, "sam@example.com", n)
            )
        await fill(h, 4)  # Sam took all four (he could keep each date when it came)
        assert await h.store.run(lambda db: commitments.owes_more_than(db, "sam@example.com", 3))
        raw = customer_mail("next", body="Why does the export fail with E42?")
        why = await explain(config, raw, clock.now())
        [reason] = [r for r in why["reasons"] if r.startswith("capacity:")]
        assert "Sam Engineer: more than 3 replies owed at 20 a day, not before" in reason
        assert why["route"]["se"] == "dana@example.com"


async def test_an_urgent_mail_is_checked_against_its_own_reply_date(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    """Urgency in the customer's words makes a new ticket urgent, with a reply in two business
    hours: that is the date the capacity check weighs, the lead is told and the customer gets,
    not the next day's date a normal mail would have."""
    urgent = {"name": "urgent", "actionable_business_hours": 2, "resolution_business_days": 1}
    config = make_config(
        capacity={"replies_per_day": 2, "headroom": 1},
        sla={"priorities": [urgent], "urgency": "apply"},
    )
    async with harness(config, clock, sink) as h:
        await fill(h, 2)  # Sam's day
        await fill(h, 2, domain="globex.example")  # Dana's
        sink.messages.clear()
        await h.receive(customer_mail("down", subject="URGENT: production is down"))
        [alert] = kind(h, "capacity-alert")
        assert "Policy:    a reply by Monday 23 November, 12:00 EST" in alert.text()
        assert "Tuesday 24 November, 10:00" not in alert.text()


async def test_leave_keeps_a_ticket_from_an_se_who_will_be_away(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    sam = {"name": "Sam Engineer", "address": "sam@example.com", "role": "se"}
    people = [
        {**sam, "away": ["2026-11-24..2026-11-27"]},
        *[p for p in make_config().model_dump()["people"] if p["address"] != "sam@example.com"],
    ]
    clock.set(MONDAY_10.replace(hour=16, minute=30))  # Sam is in today, away from tomorrow
    async with harness(make_config(people=people), clock, sink) as h:
        await h.receive(customer_mail(1))
        [copy] = kind(h, "se-copy")
        assert copy["To"] == "dana@example.com", "not to Sam, who is in for half an hour more"


async def test_fixed_policy_when_capacity_is_off(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    config = make_config(capacity={"enabled": False, "replies_per_day": 1})
    async with harness(config, clock, sink) as h:
        await fill(h, 3)
        assert {m["To"] for m in kind(h, "se-copy")} == {"sam@example.com"}
        assert all("Tuesday 24 November, 10:00" in m.text() for m in kind(h, "ack"))


async def test_headroom_plans_with_less_than_the_full_figure(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    # Four a day with 0.5 headroom is two a day to plan with: Sam's two replies owed fill it.
    config = make_config(capacity={"replies_per_day": 4, "headroom": 0.5})
    async with harness(config, clock, sink) as h:
        await fill(h, 2)
        sink.messages.clear()
        await h.receive(customer_mail("next"))
        assert kind(h, "se-copy")[0]["To"] == "dana@example.com"
        assert "Sam Engineer cannot keep the reply date" in kind(h, "se-copy")[0].text()


async def test_a_follow_up_question_gets_a_date_its_se_can_keep(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    config = make_config(capacity={"replies_per_day": 2, "headroom": 1})
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1))
        await fill(h, 2)  # Sam takes one (his day is full with two), Dana the other
        sink.messages.clear()
        await h.receive(
            customer_mail(
                2, body="Also: does the import fail too?", in_reply_to="<customer-1@acme.example>"
            )
        )
        [ack] = kind(h, "ack")
        # Sam's third reply is a day and a half of work from Monday 10:00: likely Tuesday 14:30,
        # told 15:00 (the policy's date, Tuesday 10:00, is not likely).
        assert "new question by Tuesday 24 November, 15:00" in ack.text()
        assert kind(h, "se-copy")[0]["To"] == "sam@example.com", "a follow-up stays with its SE"


async def test_a_priority_with_targets_moves_the_resolution_target_and_dates_new_questions(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    urgent = {"name": "urgent", "actionable_business_hours": 2, "resolution_business_days": 1}
    config = make_config(sla={"priorities": [urgent]})
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1))
        copy = kind(h, "se-copy")[0]
        await h.receive(relay_reply(copy, "#priority urgent", n="p"))
        done = kind(h, "se-confirm")[0].text()
        assert "resolution target now Tuesday 24 November, 10:00" in done
        assert "(internal: the customer is not told)" in done
        target = await h.joined(
            "SELECT due_at || ':' || promised FROM commitments"
            " WHERE kind = 'resolution' AND superseded_by IS NULL ORDER BY id",
            " ",
        )
        assert target == "2026-11-24T15:00:00.000000+00:00:0"
        assert not kind(h, "eta"), "nothing to the customer: a target is not a promise"
        await h.later(timedelta(hours=1))
        await h.receive(
            customer_mail(
                2, body="Does the import fail too?", in_reply_to="<customer-1@acme.example>"
            )
        )
        # Monday 11:00 plus the urgent reply target, two business hours.
        assert "new question by Monday 23 November, 13:00" in kind(h, "ack")[-1].text()


async def test_an_engineers_promised_resolution_date_stands_when_the_priority_changes(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    urgent = {"name": "urgent", "resolution_business_days": 1}
    async with harness(make_config(sla={"priorities": [urgent]}), clock, sink) as h:
        await h.receive(customer_mail(1))
        copy = kind(h, "se-copy")[0]
        await h.receive(relay_reply(copy, "#eta resolve 2026-11-27", n="e"))
        await h.receive(relay_reply(copy, "#priority urgent", n="p"))
        assert "resolution target now" not in kind(h, "se-confirm")[-1].text()
        promised = await h.scalar(
            "SELECT due_at FROM commitments WHERE kind = 'resolution' AND superseded_by IS NULL"
        )
        assert promised == "2026-11-27T22:00:00.000000+00:00"


async def test_a_revised_date_is_one_the_se_can_likely_keep(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    config = make_config(capacity={"replies_per_day": 1, "headroom": 1})
    async with harness(config, clock, sink) as h:
        # Monday 10:00, one reply a day each: Sam keeps the first, Dana the second; nobody
        # can keep the third's policy date, so Sam owes it too, by Wednesday.
        await fill(h, 3)
        owners = await h.joined("SELECT se FROM tickets ORDER BY id", " ")
        assert owners == "sam@example.com dana@example.com sam@example.com"
        sink.messages.clear()
        await h.later(timedelta(days=1, minutes=6))  # Tuesday 10:06: the first two missed
        revised = {m["To"]: m.text() for m in kind(h, "revised-eta")}
        # Dana owes nothing else: the policy's revised date, Wednesday's close.
        assert "will reply by Wednesday 25 November, 17:00 EST" in revised["user1@acme.example"]
        # Sam owes the third ticket's reply first, a day of his work, and Thursday is
        # Thanksgiving: Wednesday's close is not a date he can keep.
        sams = revised["user0@acme.example"]
        assert "Wednesday 25 November, 17:00" not in sams
        assert "Sam Engineer will reply by Friday 27 November, 11:00 EST." in sams
