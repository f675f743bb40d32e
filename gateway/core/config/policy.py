"""The config's promises: business hours, the SLA (tiers, priorities), what the team can keep
(capacity), the safety caps, retries after our own faults, retention and the scheduler."""

from __future__ import annotations

import functools
import itertools
from datetime import date, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import Field, field_validator
from pydantic import model_validator as _model_validator

from gateway.core.config.base import (
    _WINDOW,
    WEEKDAYS,
    Section,
)
from gateway.core.waits import backoff


def parse_window(text: str) -> tuple[time, time]:
    m = _WINDOW.match(text.strip())
    if not m:
        raise ValueError(f"window {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60) or (h2 == 24 and m2):
        raise ValueError(f"window {text!r} has an impossible time")
    start = time(h1, m1)
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"window {text!r} ends before it starts")
    return start, end


def check_timezone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {v!r}") from exc
    return v


def check_windows(v: list[str]) -> list[str]:
    """Open windows of one day, HH:MM-HH:MM each, not overlapping."""
    parsed = sorted(parse_window(w) for w in v)
    for (_, end), (start, _) in itertools.pairwise(parsed):
        if start < end:
            raise ValueError("windows overlap")
    return v


class HoursSection(Section):
    timezone: str = Field("America/New_York", description="The support team's time zone.")
    holidays_country: str = Field("US", description="Public holidays of this country are closed.")
    holidays_subdivision: str = Field("", description="State or province, if any.")
    closed_dates: list[date] = Field(
        default_factory=list, description="Extra closed dates (YYYY-MM-DD)."
    )
    mon: list[str] = Field(["08:00-17:00"], description="Open windows on Mondays.")
    tue: list[str] = Field(["08:00-17:00"], description="Open windows on Tuesdays.")
    wed: list[str] = Field(["08:00-17:00"], description="Open windows on Wednesdays.")
    thu: list[str] = Field(["08:00-17:00"], description="Open windows on Thursdays.")
    fri: list[str] = Field(["08:00-17:00"], description="Open windows on Fridays.")
    sat: list[str] = Field(default_factory=list, description="Open windows on Saturdays.")
    sun: list[str] = Field(default_factory=list, description="Open windows on Sundays.")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _windows(cls, v: list[str]) -> list[str]:
        return check_windows(v)

    @_model_validator(mode="after")
    def _calendar(self) -> HoursSection:
        try:
            holidays.country_holidays(
                self.holidays_country, subdiv=self.holidays_subdivision or None
            )
        except NotImplementedError as exc:
            raise ValueError(f"holidays: {exc}") from exc
        if not any(getattr(self, d) for d in WEEKDAYS):
            raise ValueError("no open hours on any weekday")
        return self

    def weekly(self) -> list[list[tuple[time, time]]]:
        return [sorted(parse_window(w) for w in getattr(self, d)) for d in WEEKDAYS]


class TierTargets(Section):
    name: str = Field(description="A support tier, as accounts[].tier names it.")
    actionable_business_days: int | None = Field(
        None, ge=1, description="In hours: this tier's actionable response (unset: the default)."
    )
    resolution_business_days: int | None = Field(
        None, ge=1, description="In hours: this tier's resolution target (unset: the default)."
    )


Priority = Literal["low", "normal", "high", "urgent"]


class PriorityTargets(Section):
    name: Priority = Field(description="A ticket priority (#priority).")
    actionable_business_hours: float | None = Field(
        None,
        gt=0,
        description="Its reply target in business hours (unset: the tier's or the default).",
    )
    resolution_business_days: int | None = Field(
        None, ge=1, description="Its resolution target (unset: the tier's or the default)."
    )


class ScTargets(Section):
    """What an SC owes on the requests they own (quotes, pricing, licences, invoices,
    contracts: [[requests]])."""

    acknowledge_minutes: int = Field(
        15, ge=1, description="Acknowledgement target (the gateway acknowledges at once)."
    )
    reply_business_hours: float = Field(
        1,
        gt=0,
        description="The SC's actionable reply, this many of their working hours after the"
        " mail (in the SC's hours; outside them, from when who covers is working).",
    )


class SlaSection(Section):
    acknowledge_minutes: int = Field(
        60, ge=1, description="Acknowledgement target (the gateway acknowledges at once)."
    )
    actionable_business_days: int = Field(
        1, ge=1, description="In hours: actionable response this many business days later."
    )
    resolution_business_days: int = Field(
        3, ge=1, description="In hours: resolution this many business days later."
    )
    after_hours_actionable_business_days: int = Field(
        1, ge=1, description="After hours: actionable response by the end of the Nth business day."
    )
    after_hours_resolution_business_days: int = Field(
        2, ge=0, description="After hours: resolution this many business days after that."
    )
    sc: ScTargets = Field(
        default_factory=ScTargets, description="The SC's targets on the requests they own."
    )
    tiers: list[TierTargets] = Field(
        default_factory=list,
        description="Targets per account tier (accounts[].tier); a tier not listed gets the"
        " defaults above.",
    )
    priorities: list[PriorityTargets] = Field(
        default_factory=list,
        description="Targets per ticket priority (#priority): a new question on the ticket gets"
        " the reply target, and setting the priority moves the resolution target (a date an"
        " engineer promised stands); a priority not listed gets the tier's or the defaults.",
    )
    warn_before_minutes: int = Field(
        120,
        ge=0,
        description="The SE is warned this many business minutes before a reply date of theirs"
        " would pass unmet (0: no warning).",
    )
    revise_before_minutes: int = Field(
        15,
        ge=0,
        description="A date still open this many minutes before it passes gets its new date"
        " sent to the customer then, so the promise to write before a date passes is kept"
        " (0: when it passes, after revision_grace_minutes).",
    )
    revision_grace_minutes: int = Field(
        5,
        ge=0,
        description="With revise_before_minutes = 0, a passed date is revised within this many"
        " minutes.",
    )
    revised_business_days: int = Field(
        1, ge=1, description="A revised date is the end of the Nth next business day."
    )
    status_update_business_days: int = Field(
        2,
        ge=0,
        description="Status update after this many business days with no mail to the customer"
        " (0: never).",
    )
    urgent_update_business_hours: float = Field(
        1,
        ge=0,
        description="An urgent ticket (#priority urgent) gets a short update after this many"
        " business hours with no mail to the customer, while the ball is in our court (0: as"
        " any other ticket).",
    )
    urgency: Literal["apply", "propose", "off"] = Field(
        "apply",
        description="Urgency in the customer's words (production down, an outage, nobody can"
        " log in, data loss, URGENT): apply makes the ticket urgent (#priority urgent, with its"
        " targets) and says so on the SE copy; propose only says so and suggests it; off reads"
        " nothing.",
    )
    max_points: int = Field(
        10, ge=0, description="At most this many of the customer's points are quoted and dated."
    )
    reopen_days: float = Field(
        30,
        gt=0,
        description="A customer mail on a ticket resolved longer ago than this opens a new"
        " ticket that links the old one; sooner, it reopens it.",
    )
    escalate_after_misses: int = Field(
        2,
        ge=1,
        description="From this many missed dates on a ticket, escalation is told.",
    )


@functools.lru_cache(maxsize=256)
def parse_days(items: tuple[str, ...]) -> frozenset[date]:
    """Dates and inclusive ranges: ("2026-12-24", "2026-12-28..2027-01-01")."""
    out: set[date] = set()
    for item in items:
        first, _, last = item.partition("..")
        a = date.fromisoformat(first.strip())
        b = date.fromisoformat(last.strip()) if last else a
        if b < a:
            raise ValueError(f"{item!r} ends before it starts")
        out.update(a + timedelta(days=i) for i in range((b - a).days + 1))
    return frozenset(out)


class CapacitySection(Section):
    enabled: bool = Field(
        True,
        description="Before promising a reply date, check that the SE who will answer can keep"
        " it (their leave, the replies they owe first, their recent record); if not, route to an"
        " SE who can, else promise an honest later date and alert the lead (false: the policy's"
        " date, always).",
    )
    replies_per_day: float = Field(
        8,
        gt=0,
        description="Replies an SE gets through in a business day, with their other work"
        " (people[].replies_per_day overrides it).",
    )
    headroom: float = Field(
        0.85,
        gt=0,
        le=1,
        description="Plan with this share of replies_per_day, so that a slow reply or an"
        " interruption does not break a date.",
    )
    record_weeks: int = Field(
        4,
        ge=0,
        description="The SE's record: how long their replies took over this many weeks (0: not"
        " used).",
    )
    record_min_replies: int = Field(
        20, ge=1, description="The record counts once it has this many replies."
    )
    record_percentile: int = Field(
        90,
        ge=50,
        le=100,
        description="A date is likely kept when this share of the SE's recent replies came"
        " within the time it allows.",
    )


class SafetySection(Section):
    max_message_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, description="Larger mail is quarantined, not processed."
    )
    max_auto_per_hour: int = Field(
        3, ge=1, description="At most this many automatic mails to one address per hour."
    )
    max_auto_per_day: int = Field(
        10, ge=1, description="At most this many automatic mails to one address per day."
    )
    max_staff_mail_per_sender_per_day: int = Field(
        50,
        ge=1,
        description="Mails of one outside sender a day that get SE copies and alerts; past it"
        " their tickets are still opened (web view, status), the lead is told once, and the"
        " team's inboxes are spared.",
    )
    undeliverable_days: float = Field(
        7, gt=0, description="After a bounce, send nothing to that address for this many days."
    )
    max_attachment_bytes: int = Field(
        10 * 1024 * 1024,
        ge=0,
        description="Files relayed in one mail (an SE's files to the customer; the customer's"
        " original, with its files, attached to the SE copy) up to this many bytes in all;"
        " over it, a note says what was left out and where it is.",
    )
    max_participants: int = Field(
        10,
        ge=1,
        description="At most this many customer-side people per ticket, all in CC of every"
        " customer-facing mail.",
    )
    spam_scl_threshold: int = Field(
        5,
        ge=-1,
        le=9,
        description="Microsoft's spam confidence level (SCL) at or above which mail is spam.",
    )


class RetrySection(Section):
    """Our own faults (a bug, a template, the database) never cost a customer's mail: the
    message or ticket waits and is retried with backoff."""

    max_attempts: int = Field(
        5,
        ge=1,
        description="After this many internal errors on one message it goes to quarantine,"
        " with every reason.",
    )
    initial_seconds: float = Field(
        60, gt=0, description="First wait after an internal error (doubles each time)."
    )
    max_seconds: float = Field(1800, gt=0, description="Longest wait between two attempts.")

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure."""
        return backoff(attempts, self.initial_seconds, self.max_seconds)


class RetentionSection(Section):
    resolved_mail_days: int = Field(
        0,
        ge=0,
        description="Delete the mail and personal data of tickets resolved this many days ago;"
        " their dates and figures stay, anonymised (0: keep).",
    )
    quarantine_days: int = Field(
        0, ge=0, description="Delete quarantined and spam mail this many days old (0: keep)."
    )


class SchedulerSection(Section):
    tick_seconds: float = Field(
        30, gt=0, description="How often due commitments are checked (real seconds)."
    )


class ReportsSection(Section):
    """What goes out on a calendar: the SC's digest and the customer's report."""

    sc_digest: bool = Field(
        True,
        description="Each SC gets a digest at the start of their working day: their accounts'"
        " new tickets, dates due that day, at risk, missed, resolved since the last digest,"
        " unhappy customers (skipped when there is nothing).",
    )
    customer_every_weeks: int = Field(
        2,
        ge=0,
        description="Each account gets a report of its tickets every this many weeks (0: never;"
        " accounts[].report = false: not that account).",
    )
    customer_weekday: str = Field(
        "fri", description="The day the customer report goes, at the team's opening."
    )

    @field_validator("customer_weekday")
    @classmethod
    def _weekday(cls, v: str) -> str:
        if v not in WEEKDAYS:
            raise ValueError(f"one of {', '.join(WEEKDAYS)}")
        return v
