"""The support policy: from the instant we received a mail to the dates we promise.

The rules (stated to customers in the README):
- received in open hours: actionable response the same local time ``actionable_business_days``
  business days later; resolution ``resolution_business_days`` business days later;
- received outside open hours: actionable response by the close of the
  ``after_hours_actionable_business_days``-th business day (the first being the day the support
  team next opens), resolution by the close of ``after_hours_resolution_business_days`` business
  days after that;
- a missed date is revised to the close of the ``revised_business_days``-th business day after the
  day it was missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.core.config import SlaSection
from gateway.core.models import DateKind
from gateway.promise.calendar import BusinessCalendar


@dataclass(frozen=True)
class Plan:
    in_hours: bool
    actionable_due: datetime
    resolution_due: datetime


class Policy:
    def __init__(self, calendar: BusinessCalendar, sla: SlaSection) -> None:
        self.calendar = calendar
        self.sla = sla

    def plan(self, received_at: datetime, tier: str = "", priority: str = "") -> Plan:
        """The dates for mail received at ``received_at`` from an account of ``tier`` on a
        ticket of ``priority`` (its targets, where set, before the tier's)."""
        cal, sla = self.calendar, self.sla
        targets = next((t for t in sla.tiers if tier and t.name == tier), None)
        actionable = sla.actionable_business_days
        resolution = sla.resolution_business_days
        if targets is not None:
            actionable = targets.actionable_business_days or actionable
            resolution = targets.resolution_business_days or resolution
        urgency = next((p for p in sla.priorities if priority and p.name == priority), None)
        if urgency is not None:
            resolution = urgency.resolution_business_days or resolution
            if urgency.actionable_business_hours:
                hours = timedelta(hours=urgency.actionable_business_hours)
                start = cal.next_open(received_at)
                return Plan(
                    cal.is_open(received_at),
                    cal.add_business_time(start, hours),
                    cal.add_business_days(start, resolution),
                )
        if cal.is_open(received_at):
            return Plan(
                True,
                cal.add_business_days(received_at, actionable),
                cal.add_business_days(received_at, resolution),
            )
        first = cal.local_date(cal.next_open(received_at))
        action_day = cal.business_day_after(first, sla.after_hours_actionable_business_days - 1)
        resolve_day = cal.business_day_after(action_day, sla.after_hours_resolution_business_days)
        return Plan(False, cal.end_of_day(action_day), cal.end_of_day(resolve_day))

    def revised(self, missed_at: datetime) -> datetime:
        """The new date for a commitment found missed at ``missed_at``."""
        cal = self.calendar
        day = cal.business_day_after(cal.local_date(missed_at), self.sla.revised_business_days)
        return cal.end_of_day(day)


@dataclass(frozen=True)
class Promise:
    """A date to tell the customer; ``missed`` is the date our policy gave, when it had already
    passed by the time we could tell them (mail that waited while the gateway was down)."""

    kind: DateKind
    due: datetime
    missed: datetime | None = None


def initial_promises(
    policy: Policy, received_at: datetime, now: datetime, tier: str = "", priority: str = ""
) -> list[Promise]:
    """The actionable-response and resolution dates for a new ticket, never already past."""
    plan = policy.plan(received_at, tier, priority)
    if plan.actionable_due > now:
        return [
            Promise(DateKind.ACTIONABLE, plan.actionable_due),
            Promise(DateKind.RESOLUTION, plan.resolution_due),
        ]
    cal = policy.calendar
    actionable = policy.revised(now)
    gap = policy.sla.after_hours_resolution_business_days
    earliest = cal.end_of_day(cal.business_day_after(cal.local_date(actionable), gap))
    resolution_missed = plan.resolution_due if plan.resolution_due <= now else None
    return [
        Promise(DateKind.ACTIONABLE, actionable, plan.actionable_due),
        Promise(DateKind.RESOLUTION, max(plan.resolution_due, earliest), resolution_missed),
    ]
