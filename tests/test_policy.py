"""The support policy customers are told (README, "The promises")."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.core.config import HoursSection, SlaSection
from gateway.promise.calendar import BusinessCalendar
from gateway.promise.sla import Policy, initial_promises
from gateway.promise.words import when

NY = ZoneInfo("America/New_York")
POLICY = Policy(BusinessCalendar.from_config(HoursSection()), SlaSection())


def ny(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=NY)


def fmt(t: datetime) -> str:
    return t.astimezone(NY).strftime("%a %m-%d %H:%M")


@pytest.mark.parametrize(
    ("received", "in_hours", "actionable", "resolution"),
    [
        ("2026-11-23 10:15", True, "Tue 11-24 10:15", "Fri 11-27 10:15"),
        ("2026-11-20 10:15", True, "Mon 11-23 10:15", "Wed 11-25 10:15"),
        ("2026-11-23 17:30", False, "Tue 11-24 17:00", "Fri 11-27 17:00"),  # after hours
        ("2026-11-23 06:00", False, "Mon 11-23 17:00", "Wed 11-25 17:00"),  # before opening
        ("2026-11-28 12:00", False, "Mon 11-30 17:00", "Wed 12-02 17:00"),  # Saturday
        ("2026-11-26 09:00", False, "Fri 11-27 17:00", "Tue 12-01 17:00"),  # Thanksgiving
    ],
)
def test_plan(received: str, in_hours: bool, actionable: str, resolution: str) -> None:
    plan = POLICY.plan(ny(received))
    assert plan.in_hours is in_hours
    assert (fmt(plan.actionable_due), fmt(plan.resolution_due)) == (actionable, resolution)


def test_revised_date_is_close_of_the_next_business_day() -> None:
    assert fmt(POLICY.revised(ny("2026-11-24 10:20"))) == "Wed 11-25 17:00"
    assert fmt(POLICY.revised(ny("2026-11-25 10:20"))) == "Fri 11-27 17:00"
    assert fmt(POLICY.revised(ny("2026-11-28 03:00"))) == "Mon 11-30 17:00"


def test_mail_that_waited_gets_a_date_in_the_future() -> None:
    received = ny("2026-11-20 10:15")  # Friday; the daemon was down until Tuesday
    now = ny("2026-11-24 09:00")
    actionable, resolution = initial_promises(POLICY, received, now)
    assert actionable.missed == ny("2026-11-23 10:15")
    assert fmt(actionable.due) == "Wed 11-25 17:00"
    assert actionable.due > now and resolution.due > actionable.due
    assert resolution.missed is None  # Wednesday 10:15 had not passed yet...
    # ...but it must follow the new reply date: two business days after Wednesday, skipping
    # Thanksgiving.
    assert fmt(resolution.due) == "Mon 11-30 17:00"


def test_dates_in_words_with_the_customers_offset() -> None:
    t = ny("2026-11-24 10:15")
    assert when(t, NY) == "Tuesday 24 November, 10:15 EST"
    assert when(t, NY, 60) == "Tuesday 24 November, 10:15 EST (16:15 your time, UTC+01:00)"
    assert when(t, NY, -300) == "Tuesday 24 November, 10:15 EST"
    assert when(t, NY, 660) == (
        "Tuesday 24 November, 10:15 EST (Wednesday 25 November, 02:15 your time, UTC+11:00)"
    )
    assert when(t + timedelta(days=200), NY).endswith("EDT")
