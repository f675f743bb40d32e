"""The gateway's nouns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """What one of our people is (config ``people[].role``)."""

    SE = "se"  # a support engineer: owns tickets, answers through the relay
    SC = "sc"  # a sales consultant: in CC on every customer-facing mail of their accounts
    LEAD = "lead"  # the team's lead: alerts, the promise record, operations


class TicketState(StrEnum):
    NEW = "new"  # acknowledged; the actionable response is still owed
    ANSWERED = "answered"  # an engineer has replied
    WAITING = "waiting"  # waiting on the customer: clocks paused
    RESOLVED = "resolved"


class MailClass(StrEnum):
    """What an inbound mail is, as the classification chain reads it (gateway/rules): a person's
    mail, or the kind of robot's that never gets an automatic reply (RFC 3834)."""

    HUMAN = "human"
    BOUNCE = "bounce"  # a delivery status notification
    AUTO_REPLY = "auto-reply"  # an out-of-office, a vacation responder
    AUTOMATED = "automated"  # a robot's mail: no-reply senders, abuse feedback reports
    LIST = "list"  # a mailing list's or bulk mail
    RECEIPT = "receipt"  # a read or delivery receipt
    OWN = "own"  # the gateway's own mail come back
    SPAM = "spam"  # an upstream spam verdict
    MALFORMED = "malformed"  # could not be parsed: quarantined


class Periodic(StrEnum):
    """Mail that goes on a calendar, or once per person (the store's ``last_sent``)."""

    SC_DIGEST = "sc-digest"  # to an SC at the start of their shift: their accounts' board
    CUSTOMER_REPORT = "customer-report"  # to an account's contacts: their tickets, fortnightly
    KEEP_SC_HINT = "keep-sc-hint"  # to a writer who left the SC out: how to keep them in


class DateKind(StrEnum):
    """What a dated commitment (the ``commitments.kind`` column) is for."""

    ACTIONABLE = "actionable"  # a reply that moves the case on
    UPDATE = "update"  # a status update
    RESOLUTION = "resolution"  # the case resolved (a target, or a date an SE promised)
    POINT = "point"  # an answer to one point the customer raised


class InboxState(StrEnum):
    """Where a stored inbound mail is (the ``inbox.state`` column)."""

    NEW = "new"  # waiting to be processed (or to be tried again)
    PROCESSED = "processed"
    QUARANTINED = "quarantined"  # its own fault: kept for an operator
    SPAM = "spam"  # kept, never answered, releasable


class OutboxState(StrEnum):
    """Where a mail we send is (the ``outbox.state`` column)."""

    QUEUED = "queued"
    SENT = "sent"
    DEAD = "dead"  # the relay refused it for good (or it expired): an operator may retry it


class Action(StrEnum):
    """What the gateway did with an inbound message (recorded, shown by ``explain``)."""

    ACKNOWLEDGE = "acknowledge"  # new ticket: acknowledgement + SE copy
    FOLLOW_UP = "follow-up"  # customer mail in a known thread: SE copy only
    ENGINEER_REPLY = "engineer-reply"  # staff mail in a known thread: recorded as the response
    SUPPRESS = "suppress"  # automated mail: never answered
    DUPLICATE = "duplicate"  # the same message again: nothing
    ATTACH = "attach"  # automated mail recorded on its ticket (out-of-office, our bounce)
    RELAY = "relay"  # an SE's reply to the relay address: relayed and/or commands run
    REFUSED = "refused"  # mail to a relay address that may not act: recorded and reported
    QUARANTINE = "quarantine"
    SPAM = "spam"  # an upstream spam verdict: kept (state spam), never answered, releasable
    ASK_FORWARDER = "ask-forwarder"  # a forward naming no customer: its sender is asked
    RELEASED = "released"  # an operator's verdict on held mail: it needs nothing from us


class MailKind(StrEnum):
    """What a mail we send is (the outbox's ``kind``; ``X-Support-Kind`` on the mail)."""

    ACK = "ack"  # to the customer: the acknowledgement with dates
    SE_COPY = "se-copy"  # to the SE: the thread (also a hand-over after #assign)
    REPLY = "reply"  # an SE's reply, relayed to the customer
    ETA = "eta"  # to the customer: a date an engineer set
    NOTE = "note"  # to the SE: a note on the ticket
    DUE_SOON = "due-soon"  # to the SE: a date of theirs is about to pass unmet
    DONE = "done"  # to the SC: the case is resolved
    REVISED_ETA = "revised-eta"  # to the customer: a missed date, revised
    MISSED_ALERT = "missed-alert"  # to the SE and SC: a date was missed
    CAPACITY_ALERT = "capacity-alert"  # to the lead: nobody could keep the policy's reply date
    STATUS_UPDATE = "status-update"  # to the customer: where things stand
    SECURITY_ALERT = "security-alert"  # to the escalation contact: a refused relay
    BOUNCE_ALERT = "bounce-alert"  # to the SE and SC: mail to the customer bounced
    DEAD_LETTER_ALERT = "dead-letter-alert"  # to the SE and SC: the relay refused a mail for good
    SE_CONFIRM = "se-confirm"  # to the SE: what their commands did
    SE_ERROR = "se-error"  # to the SE: why nothing was done
    FORWARD_QUERY = "forward-query"  # to our person who forwarded a mail naming no customer
    MERGE_NOTICE = "merge-notice"  # to the customer: two tickets are one now, use this key
    SC_COPY = "sc-copy"  # to the SC: our person's mail to the customer that left them out
    SC_DIGEST = "sc-digest"  # to an SC: their accounts' tickets at the start of their shift
    CUSTOMER_REPORT = "customer-report"  # to an account: its open and resolved tickets


@dataclass(frozen=True)
class InboundMessage:
    """A parsed customer (or robot) message, as the rules and steps see it."""

    message_id: str  # with angle brackets; synthesised from the content hash when missing
    subject: str
    from_address: str  # lower-case; '' when none could be parsed
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    in_reply_to: str
    references: tuple[str, ...]
    date: datetime | None  # the sender's Date: header, only for their UTC offset
    headers: dict[str, tuple[str, ...]]  # lower-case name -> values, decoded
    text: str
    html: str
    return_path: str | None  # None when the header is absent; '' for the null sender '<>'
    content_type: str
    size: int
    has_message_id: bool = True
    delivered_to: tuple[str, ...] = ()  # Delivered-To / X-Original-To: the envelope recipient
    attachments: tuple[str, ...] = field(default_factory=tuple)
    attached: tuple[bytes, ...] = ()  # mails attached whole (message/rfc822), as bytes
    part_types: tuple[str, ...] = ()  # content types of its own parts (not attached mails')

    def header(self, name: str) -> str:
        """The first value of header ``name`` ('' when absent)."""
        values = self.headers.get(name.lower(), ())
        return values[0] if values else ""

    @property
    def utc_offset_minutes(self) -> int | None:
        if self.date is None or self.date.utcoffset() is None:
            return None
        offset = self.date.utcoffset()
        assert offset is not None
        return int(offset.total_seconds() // 60)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this message answers, nearest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [r for r in reversed(self.references) if r not in ids]
        return tuple(ids)


@dataclass(frozen=True)
class Ticket:
    id: int
    key: str
    subject: str
    customer_address: str
    customer_name: str
    customer_utc_offset: int | None
    account: str
    se: str
    sc: str
    state: TicketState
    received_at: datetime
    last_customer_message_id: str
    references: tuple[str, ...]
    product: str = ""
    priority: str = "normal"
    token: str = ""
    resolved_at: datetime | None = None
    merged_into: int | None = None  # #merge: the ticket that carries on
    language: str = "en"  # the customer's mail is written in it (see gateway/text/speech.py)
    at_risk: str = ""  # the customer's sentence that shows they are unhappy with us
    deadline_at: datetime | None = None  # a deadline the customer stated (gateway/mail/deadline.py)
    deadline_said: str = ""  # the sentence that states it


@dataclass(frozen=True)
class Route:
    account: str
    se: str
    sc: str
    reason: str
    product: str = ""
    triage_se: str = ""  # after hours: the on-duty SE who gets a triage copy


@dataclass(frozen=True)
class Outbound:
    """A composed mail, ready for the outbox."""

    kind: MailKind
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
