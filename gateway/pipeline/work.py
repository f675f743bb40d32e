"""What the pipeline's steps share: the services built from the config, the message in flight,
and the one control-flow signal that ends its journey."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gateway import rules
from gateway.core.clock import Clock
from gateway.core.config import Config
from gateway.core.models import Action, InboundMessage, MailClass, Outbound, Route, Ticket
from gateway.mail.deadline import Deadline
from gateway.mail.mime import Composer
from gateway.promise import words
from gateway.promise.calendar import BusinessCalendar
from gateway.promise.load import Check
from gateway.promise.routing import Directory
from gateway.promise.sla import Policy, Promise
from gateway.store.inbox import InboxRow


class Done(Exception):
    """The message's journey ends here, with this action and reason."""

    def __init__(self, action: Action, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"{action}: {reason}")


@dataclass
class Stages:
    """CPU seconds the processing thread spent in each pipeline step (and in recording each
    message's outcome), and how many messages it took through: what ``/metrics`` exports as
    ``gateway_stage_cpu_seconds`` and the benchmark prints per message."""

    seconds: dict[str, float] = field(default_factory=dict)
    messages: int = 0

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


@dataclass
class Services:
    """Everything the steps need, built once from the config."""

    config: Config
    clock: Clock
    calendar: BusinessCalendar
    policy: Policy
    directory: Directory
    composer: Composer
    ours: rules.Ours
    stages: Stages = field(default_factory=Stages)

    @classmethod
    def build(cls, config: Config, clock: Clock) -> Services:
        calendar = BusinessCalendar.from_config(config.hours)
        own = {config.support.address, *config.support.own_addresses}
        directory = Directory(config, calendar)
        return cls(
            config=config,
            clock=clock,
            calendar=calendar,
            policy=Policy(calendar, config.sla),
            directory=directory,
            composer=Composer(config, clock, directory),
            ours=rules.Ours(
                frozenset(a.lower() for a in own),
                config.support.domain.lower(),
                config.safety.spam_scl_threshold,
            ),
        )

    def when(self, t: datetime, ticket: Ticket) -> str:
        return words.when(t, self.calendar.tz, ticket.customer_utc_offset)

    def staff_when(self, t: datetime) -> str:
        """A date inside a sentence of our own people's mail: the team's time, its zone named
        (a :meth:`when` phrase in a staff template says the customer's time as theirs)."""
        return str(words.when(t, self.calendar.tz))


def tier_of(s: Services, account: str) -> str:
    """The account's support tier ('' for none): its targets are in sla.tiers."""
    return next((a.tier for a in s.config.accounts if a.name == account), "")


@dataclass(frozen=True)
class Forward:
    """One of our people forwarded the customer's mail to support (see steps/forward.py)."""

    by: str  # the forwarder's name
    by_address: str
    how: str  # "attached message" or "inline"
    written_at: datetime | None  # when the customer wrote, if the forward says so
    note: str  # the forwarder's own words above the forwarded mail
    message_id: str  # the forward's own Message-ID


@dataclass(frozen=True)
class Mention:
    """Another ticket the mail named, and why it was not filed into it (the SE reads both)."""

    key: str
    why: str


@dataclass(frozen=True)
class ScShare:
    """The customer's points that are requests the SC owns (see steps/requests.py), when
    someone other than the ticket's owner answers them: that SC, by their own date."""

    points: tuple[tuple[str, str], ...]  # (point, request kind)
    owner: str  # the SC who answers them
    due: datetime  # by when (the SC's targets, in their hours)
    why: str


@dataclass
class Work:
    """One message on its way through the pipeline."""

    row: InboxRow
    now: datetime
    msg: InboundMessage | None = None
    mail_class: MailClass | None = None  # set by the parse or the classify step
    ticket: Ticket | None = None
    new_ticket: bool = False
    mention: Mention | None = None  # another ticket this mail named, but is not filed into
    forward: Forward | None = None  # the customer's mail reached us forwarded by our staff
    reopened: bool = False  # a resolved ticket the customer came back to
    follow_up_due: datetime | None = None  # when a follow-up's new points will be answered
    statement: bool = False  # a follow-up that tells us something and asks nothing new
    urgent: str = ""  # the customer's words that show urgency (gateway/mail/tone.py)
    concern: str = ""  # the customer's words that show they are unhappy with us
    deadline: Deadline | None = None  # a deadline they stated this time
    resumed: bool = False  # their reply ended a wait on them: our dates moved later
    pending: list[str] = field(default_factory=list)  # copied by an unauthenticated mail
    people: list[str] = field(default_factory=list)  # whom the ticket's mail goes to (in CC)
    route: Route | None = None
    sc_share: ScShare | None = None  # points the SC answers on a ticket someone else owns
    capacity: Check | None = None  # whether the reply date can be kept, and by whom
    language: str = "en"  # a new ticket's mail to the customer is written in it
    policy: list[Promise] = field(default_factory=list)  # the policy's dates (the dates step)
    promises: list[Promise] = field(default_factory=list)  # a new ticket's, as told
    points: list[str] = field(default_factory=list)  # the customer's questions and items
    outgoing: list[Outbound] = field(default_factory=list)
    decisions: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def message(self) -> InboundMessage:
        assert self.msg is not None, "the parse step runs first"
        return self.msg

    @property
    def later(self) -> Check | None:
        """The capacity check, when it moved the reply date past the policy's (else None)."""
        return self.capacity if self.capacity and not self.capacity.chosen.keeps else None

    @property
    def the_ticket(self) -> Ticket:
        assert self.ticket is not None, "the ticket step runs first"
        return self.ticket

    def decide(self, step: str, verdict: str, reason: str) -> None:
        self.decisions.append((step, verdict, reason))
