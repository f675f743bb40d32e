"""The configuration schema: every key, its default and its meaning, in one place.

The example in ``deploy/support-gateway.toml`` is checked against this schema by the test suite
(every key here must appear there), and ``support-gateway check-config`` reports every problem
with the dotted key it belongs to.
"""

from __future__ import annotations

import colorsys
import copy
import functools
import ipaddress
import itertools
import json
import os
import re
import ssl
import subprocess
import tomllib
from collections.abc import Iterator
from datetime import date, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic import model_validator as _model_validator
from pydantic.fields import FieldInfo

from gateway.core.waits import backoff
from gateway.text.details import Detail
from gateway.text.speech import known

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds (dotted key, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {msg}" for key, msg in problems))


@functools.cache
def tls_context(verify: bool) -> ssl.SSLContext:
    """The client TLS context, built once per process (loading the CA store costs milliseconds)."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class TlsMode(StrEnum):
    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


def _check_address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"not an email address: {value!r}")
    return value.lower()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class Secret(_Section):
    """Where a secret comes from: a file (e.g. under $CREDENTIALS_DIRECTORY), an environment
    variable, or (OAuth2 tokens only) a command that prints it. Never the config itself."""

    file: str = Field(
        "", description="Path of a file holding the secret (trailing newline ignored)."
    )
    env: str = Field("", description="Name of an environment variable holding the secret.")
    command: str = Field(
        "", description="Command whose standard output is the secret (for OAuth2 tokens)."
    )

    @property
    def configured(self) -> bool:
        return bool(self.file or self.env or self.command)

    def problem(self) -> str | None:
        """Why the secret cannot be read here and now (None: it can, or it is a command, which
        is run only when needed)."""
        if self.file:
            expanded = os.path.expandvars(self.file)
            unset = _VARIABLE.search(expanded)  # expandvars leaves an unset one as written
            if unset:
                name = unset.group(1) or unset.group(2)
                if name == "CREDENTIALS_DIRECTORY":
                    return (
                        f"CREDENTIALS_DIRECTORY is not set in {self.file!r}: systemd sets it"
                        " for the unit (LoadCredential=); outside systemd, point file at the"
                        " secret's own path, or export CREDENTIALS_DIRECTORY"
                        " (/etc/support-gateway/credentials with the example unit)"
                    )
                return f"${name} in {self.file!r} is not set"
            path = Path(expanded)
            if not path.is_file():
                return f"no file {path}"
            if not os.access(path, os.R_OK):
                return f"{path} is not readable by this user (uid {os.getuid()})"
        if self.env and self.env not in os.environ:
            return f"environment variable {self.env} is not set"
        return None

    def read(self) -> SecretStr:
        """Read the secret now (tokens expire, so callers read it at each login)."""
        if self.file:
            missing = self.problem()
            if missing:
                raise FileNotFoundError(missing)
            path = Path(os.path.expandvars(self.file))
            return SecretStr(path.read_text(encoding="utf-8").rstrip("\r\n"))
        if self.env:
            if self.env not in os.environ:
                raise KeyError(f"environment variable {self.env} is not set")
            return SecretStr(os.environ[self.env])
        if self.command:
            out = subprocess.run(
                self.command, shell=True, check=True, capture_output=True, text=True, timeout=30
            )
            return SecretStr(out.stdout.strip())
        return SecretStr("")

    @_model_validator(mode="after")
    def _one_source(self) -> Secret:
        if sum(bool(x) for x in (self.file, self.env, self.command)) > 1:
            raise ValueError("give only one of file, env, command")
        return self


def _check_language(v: str) -> str:
    v = v.strip().replace("-", "_")
    if not known(v):
        raise ValueError(f"{v!r} is not a language code Babel knows (e.g. en, de, es, pt_BR)")
    return v


class SupportSection(_Section):
    address: str = Field(
        "support@example.com", description="The support mailbox customers write to."
    )
    display_name: str = Field("Support", description="Display name on every mail we send.")
    message_id_domain: str = Field(
        "", description="Domain of our Message-IDs; empty means the support address's domain."
    )
    ticket_prefix: str = Field("SUP", description="Ticket keys look like [SUP-1001].")
    first_ticket_number: int = Field(1001, ge=1, description="Number of the first ticket.")
    our_color: str = Field(
        "#1a5fb4", description="Colour of our words in HTML mail (#rrggbb; any but red)."
    )
    own_addresses: list[str] = Field(
        default_factory=list,
        description="Other addresses that are ours (never answered automatically).",
    )
    ask_for: list[Detail] = Field(
        default_factory=lambda: list(Detail),
        description="What the acknowledgement of a fault report asks for when the mail lacks it"
        " (version, error, since); a product's ask_for overrides; [] asks nothing.",
    )
    language: str = Field(
        "en",
        description="Language of customer mail when neither the account's language nor the"
        " customer's first mail decides (en, de, es, or a templates/<lang>/ you add).",
    )
    detect_language: bool = Field(
        True,
        description="Answer a new customer in the language their first mail is written in,"
        " when we have templates for it (else in support.language).",
    )

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        return _check_language(v)

    @field_validator("address")
    @classmethod
    def _addr(cls, v: str) -> str:
        return _check_address(v)

    @field_validator("ticket_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9]{1,9}", v):
            raise ValueError("2-10 capital letters or digits, starting with a letter")
        return v

    @field_validator("our_color")
    @classmethod
    def _color(cls, v: str) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", v):
            raise ValueError("a colour as #rrggbb")
        r, g, b = (int(v[i : i + 2], 16) / 255 for i in (1, 3, 5))
        hue, _, sat = colorsys.rgb_to_hls(r, g, b)
        if sat > 0.25 and (hue < 20 / 360 or hue > 340 / 360) and r > 0.35:
            raise ValueError(f"{v} is a shade of red: customers read red as an error")
        return v

    @field_validator("own_addresses")
    @classmethod
    def _own(cls, v: list[str]) -> list[str]:
        return [_check_address(a) for a in v]

    @property
    def domain(self) -> str:
        return self.message_id_domain or self.address.rsplit("@", 1)[1]


class ImapSection(_Section):
    enabled: bool = Field(True, description="Watch the mailbox over IMAP.")
    host: str = Field("127.0.0.1", description="IMAP server host name.")
    port: int = Field(993, ge=1, le=65535, description="IMAP server port.")
    tls: TlsMode = Field(TlsMode.TLS, description="tls (implicit, 993), starttls or none.")
    tls_verify: bool = Field(True, description="Verify the server certificate.")
    user: str = Field("", description="Login name.")
    auth: Literal["password", "xoauth2"] = Field(
        "password", description="password (LOGIN) or xoauth2 (OAuth2 bearer token)."
    )
    password: Secret = Field(default_factory=Secret, description="The password's source.")
    oauth2_token: Secret = Field(default_factory=Secret, description="The OAuth2 token's source.")
    inbox: str = Field("INBOX", description="Folder to watch.")
    processed_folder: str = Field(
        "Processed", description="Where handled mail is moved; empty: leave it, marked \\Seen."
    )
    quarantine_folder: str = Field("Quarantine", description="Where unprocessable mail is moved.")
    idle: bool = Field(True, description="Use IDLE when the server advertises it.")
    idle_renew_seconds: int = Field(
        1500, ge=30, le=1740, description="Re-issue IDLE this often (servers drop it at 29 min)."
    )
    idle_recheck_seconds: float = Field(
        60,
        gt=0,
        description="In IDLE, also search this often (mail that arrives between a search and"
        " IDLE may only be announced after the server's own check interval).",
    )
    poll_seconds: float = Field(60, gt=0, description="Polling interval without IDLE.")
    fetch_batch: int = Field(100, ge=1, description="Messages fetched per FETCH command.")
    timeout_seconds: float = Field(60, gt=0, description="Socket timeout of IMAP commands.")
    backoff_initial_seconds: float = Field(1, gt=0, description="First reconnect delay.")
    backoff_max_seconds: float = Field(300, gt=0, description="Cap of the reconnect delay.")


class SmtpSection(_Section):
    host: str = Field("127.0.0.1", description="SMTP relay host name.")
    port: int = Field(587, ge=1, le=65535, description="SMTP relay port.")
    tls: TlsMode = Field(TlsMode.STARTTLS, description="tls (implicit, 465), starttls or none.")
    tls_verify: bool = Field(True, description="Verify the relay's certificate.")
    user: str = Field("", description="Login name; empty: no authentication.")
    auth: Literal["password", "xoauth2"] = Field(
        "password", description="password (AUTH PLAIN/LOGIN) or xoauth2 (OAuth2 bearer token)."
    )
    password: Secret = Field(default_factory=Secret, description="The password's source.")
    oauth2_token: Secret = Field(
        default_factory=Secret,
        description="The OAuth2 token's source (run again or re-read when a token is refused).",
    )
    timeout_seconds: float = Field(60, gt=0, description="Timeout of one SMTP conversation.")
    retry_initial_seconds: float = Field(
        30, gt=0, description="First retry delay after a 4xx or a connection failure."
    )
    retry_max_seconds: float = Field(1800, gt=0, description="Cap of the retry delay.")
    give_up_hours: float = Field(
        48, gt=0, description="Dead-letter a message still failing temporarily after this long."
    )


class IngressSection(_Section):
    enabled: bool = Field(False, description="Accept mail pushed by an MTA (SMTP or LMTP).")
    protocol: Literal["smtp", "lmtp"] = Field("lmtp", description="smtp or lmtp.")
    host: str = Field("127.0.0.1", description="Listen address.")
    port: int = Field(8024, ge=1, le=65535, description="Listen port.")
    max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024, description="Largest mail taken.")
    allow: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Peers (addresses or networks) that may hand us mail: your MTA; anyone"
        " else is refused at MAIL FROM (554).",
    )
    max_recipients: int = Field(
        10, ge=1, le=1000, description="Recipients taken per mail (more are told 452)."
    )
    domains: list[str] = Field(
        default_factory=list,
        description="Domains we take mail for: empty means those of support.address and"
        " support.own_addresses; any other recipient is refused at RCPT (550).",
    )

    @field_validator("allow")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return v


class DatabaseSection(_Section):
    path: str = Field("/var/lib/support-gateway/gateway.db", description="SQLite database file.")
    url: str = Field(
        "",
        description="PostgreSQL instead of SQLite: postgresql://user@host:5432/dbname (keep the"
        " password out of this file: PGPASSWORD in the unit's environment, or ~/.pgpass). Empty:"
        " SQLite at path.",
    )
    takeover_seconds: float = Field(
        15.0,
        ge=1,
        le=600,
        description="PostgreSQL: every gateway sharing the database processes and sends; one"
        " leads (the mailbox, the scheduler), and when it dies (its session ends) another takes"
        " over within about this long.",
    )
    busy_timeout_ms: int = Field(
        10000, ge=0, description="How long a write waits for a lock held by another process."
    )

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, v: str) -> str:
        if v and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (or empty for SQLite)")
        return v

    @property
    def target(self) -> str:
        """What the store opens: the PostgreSQL URL when set, else the SQLite file."""
        return self.url or self.path


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


class HoursSection(_Section):
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
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _windows(cls, v: list[str]) -> list[str]:
        parsed = sorted(parse_window(w) for w in v)
        for (_, end), (start, _) in itertools.pairwise(parsed):
            if start < end:
                raise ValueError("windows overlap")
        return v

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


class TierTargets(_Section):
    name: str = Field(description="A support tier, as accounts[].tier names it.")
    actionable_business_days: int | None = Field(
        None, ge=1, description="In hours: this tier's actionable response (unset: the default)."
    )
    resolution_business_days: int | None = Field(
        None, ge=1, description="In hours: this tier's resolution target (unset: the default)."
    )


Priority = Literal["low", "normal", "high", "urgent"]


class PriorityTargets(_Section):
    name: Priority = Field(description="A ticket priority (#priority).")
    actionable_business_hours: float | None = Field(
        None,
        gt=0,
        description="Its reply target in business hours (unset: the tier's or the default).",
    )
    resolution_business_days: int | None = Field(
        None, ge=1, description="Its resolution target (unset: the tier's or the default)."
    )


class SlaSection(_Section):
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


class Person(_Section):
    name: str = Field(description="Full name, as shown to customers.")
    address: str = Field(description="Email address.")
    role: Literal["se", "sc", "lead"] = Field(
        description="se (support engineer), sc (sales consultant) or lead."
    )
    timezone: str = Field("", description="The person's time zone (informational); '' = team's.")
    away: list[str] = Field(
        default_factory=list,
        description='Days away: dates and ranges, e.g. ["2026-12-24", "2026-12-28..2027-01-01"].',
    )

    @field_validator("away")
    @classmethod
    def _away(cls, v: list[str]) -> list[str]:
        parse_days(tuple(v))
        return v

    replies_per_day: float | None = Field(
        None, gt=0, description="This SE's replies a business day (unset: capacity's default)."
    )

    def away_on(self, day: date) -> bool:
        return day in parse_days(tuple(self.away))

    @field_validator("address")
    @classmethod
    def _addr(cls, v: str) -> str:
        return _check_address(v)


class Account(_Section):
    name: str = Field(description="Customer account name.")
    domains: list[str] = Field(default_factory=list, description="The customer's mail domains.")
    addresses: list[str] = Field(
        default_factory=list, description="Single customer addresses of this account."
    )
    sc: str = Field("", description="Address of the account's sales consultant.")
    backup_sc: str = Field(
        "", description="The SC in CC instead of the account's SC while they are away."
    )
    se: str = Field("", description="Address of the account's support engineer.")
    product: str = Field("", description="The account's product (a [[products]] name), if one.")
    tier: str = Field(
        "", description="Support tier: its targets are in sla.tiers (else informational)."
    )
    language: str = Field(
        "", description="Language of the account's customer mail (e.g. de); '' detects it."
    )

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        return _check_language(v) if v else v

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in v]

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        return [_check_address(a) for a in v]


class Product(_Section):
    name: str = Field(description="Product name; also the plus-address: support+NAME@...")
    keywords: list[str] = Field(
        default_factory=list, description="Words in subject or body that point to the product."
    )
    owner: str = Field(description="The owning SE's address.")
    backup: str = Field("", description="The SE who takes over while the owner is away.")
    ask_for: list[Detail] | None = Field(
        None,
        description="What to ask a fault report about this product for when it lacks it"
        " (version, error, since); unset: support.ask_for.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", v):
            raise ValueError("lower-case letters, digits, - and _ (it is used in addresses)")
        return v


class Article(_Section):
    title: str = Field(description="Knowledge-base article title.")
    url: str = Field(description="Its address.")
    keywords: list[str] = Field(description="Words in the customer's mail that make it relevant.")


class RotaSection(_Section):
    """Who is on duty outside open hours: a weekly pattern and dated overrides."""

    mon: str = Field("", description="On-duty SE on Mondays.")
    tue: str = Field("", description="On-duty SE on Tuesdays.")
    wed: str = Field("", description="On-duty SE on Wednesdays.")
    thu: str = Field("", description="On-duty SE on Thursdays.")
    fri: str = Field("", description="On-duty SE on Fridays.")
    sat: str = Field("", description="On-duty SE on Saturdays.")
    sun: str = Field("", description="On-duty SE on Sundays.")
    overrides: dict[str, str] = Field(
        default_factory=dict, description='Dated exceptions: {"2026-11-26" = "sam@example.com"}.'
    )

    @field_validator("overrides")
    @classmethod
    def _dates(cls, v: dict[str, str]) -> dict[str, str]:
        for day in v:
            date.fromisoformat(day)
        return {k: a.lower() for k, a in v.items()}

    def on_duty(self, day: date) -> str:
        return self.overrides.get(day.isoformat()) or getattr(self, WEEKDAYS[day.weekday()])


class RelaySection(_Section):
    trusted_authserv_ids: list[str] = Field(
        default_factory=list,
        description="Your border MTA's authserv-id(s): staff mail counts only when the topmost"
        " Authentication-Results, added by one of these, shows the From authenticated (DMARC"
        " pass, or DKIM or SPF pass aligned with the From domain). Empty: From is believed.",
    )
    unauthenticated_cc: Literal["confirm", "add"] = Field(
        "confirm",
        description="With trust configured, people a customer-side mail our border found"
        " unauthenticated copies: confirm (kept on the ticket, no mail to them until an SE's"
        " #cc add) or add (in CC at once, as without trust).",
    )
    alignment: Literal["relaxed", "strict"] = Field(
        "relaxed",
        description="DKIM/SPF alignment with the From domain: relaxed (same organizational"
        " domain) or strict (the same domain).",
    )


class CapacitySection(_Section):
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


class RoutingSection(_Section):
    default_se: str = Field("", description="SE of mail that matches no account.")
    default_sc: str = Field("", description="SC in CC when the account names none (optional).")
    escalation: str = Field(
        "", description="Escalation contact (a configured person), told of repeated misses."
    )


class SafetySection(_Section):
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


class RetrySection(_Section):
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


class MetricsSection(_Section):
    enabled: bool = Field(True, description="Serve Prometheus /metrics and /healthz.")
    host: str = Field("127.0.0.1", description="Listen address (keep it on loopback or a VPN).")
    port: int = Field(9464, ge=0, le=65535, description="Listen port (0: any free port).")


class WebSection(_Section):
    enabled: bool = Field(True, description="Serve the signed-in web view (tickets, report, ops).")
    host: str = Field(
        "127.0.0.1", description="Listen address (loopback: put a TLS reverse proxy in front)."
    )
    port: int = Field(8026, ge=0, le=65535, description="Listen port (0: any free port).")
    secure_cookies: bool = Field(
        False, description="Send the session cookie only over HTTPS (true behind a TLS proxy)."
    )
    session_hours: float = Field(12, gt=0, description="A sign-in lasts this long.")
    trusted_header: str = Field(
        "",
        description="Header naming the signed-in person's address, set by an SSO proxy such as"
        " oauth2-proxy (e.g. X-Forwarded-Email); '' = passwords only.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="The only peers whose trusted_header and X-Forwarded-For are believed"
        " (the proxy must set X-Forwarded-For itself, not pass the client's on).",
    )
    login_attempts: int = Field(
        5,
        ge=1,
        description="Wrong passwords for one address (from anywhere), or from one client, before"
        " a lockout; a client over it gets one try at an address it has not got wrong.",
    )
    lockout_minutes: float = Field(
        15, gt=0, description="How long wrong passwords count (kept in the database)."
    )
    password_checks: int = Field(
        2,
        ge=1,
        le=64,
        description="Password checks at once (argon2: 64 MiB and a core each); four times as"
        " many wait, more are told to try again.",
    )
    page_size: int = Field(50, ge=5, le=500, description="Tickets a page.")


class RetentionSection(_Section):
    resolved_mail_days: int = Field(
        0,
        ge=0,
        description="Delete the mail and personal data of tickets resolved this many days ago;"
        " their dates and figures stay, anonymised (0: keep).",
    )
    quarantine_days: int = Field(
        0, ge=0, description="Delete quarantined and spam mail this many days old (0: keep)."
    )


class SchedulerSection(_Section):
    tick_seconds: float = Field(
        30, gt=0, description="How often due commitments are checked (real seconds)."
    )


class LogSection(_Section):
    level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    format: Literal["plain", "json"] = Field(
        "plain", description="plain (key=value; journald-aware) or json (one object per line)."
    )


class Config(_Section):
    support: SupportSection = Field(default_factory=SupportSection)
    imap: ImapSection = Field(default_factory=ImapSection)
    smtp: SmtpSection = Field(default_factory=SmtpSection)
    ingress: IngressSection = Field(default_factory=IngressSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    hours: HoursSection = Field(default_factory=HoursSection)
    sla: SlaSection = Field(default_factory=SlaSection)
    capacity: CapacitySection = Field(default_factory=CapacitySection)
    safety: SafetySection = Field(default_factory=SafetySection)
    scheduler: SchedulerSection = Field(default_factory=SchedulerSection)
    retry: RetrySection = Field(default_factory=RetrySection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    web: WebSection = Field(default_factory=WebSection)
    retention: RetentionSection = Field(default_factory=RetentionSection)
    log: LogSection = Field(default_factory=LogSection)
    templates_dir: str = Field("", description="Operator templates overriding the built-in ones.")
    routing: RoutingSection = Field(default_factory=RoutingSection)
    rota: RotaSection = Field(default_factory=RotaSection)
    relay: RelaySection = Field(default_factory=RelaySection)
    people: list[Person] = Field(default_factory=list, description="SEs, SCs and leads.")
    products: list[Product] = Field(default_factory=list, description="Products and owners.")
    accounts: list[Account] = Field(default_factory=list, description="Customer accounts.")
    articles: list[Article] = Field(
        default_factory=list, description="Self-help articles suggested in acknowledgements."
    )

    def secret_problems(self) -> list[tuple[str, str]]:
        """(key, why) for each secret this config uses that cannot be read now."""
        used: list[tuple[str, Secret]] = []
        if self.imap.enabled and self.imap.auth == "password":
            used.append(("imap.password", self.imap.password))
        if self.imap.enabled and self.imap.auth == "xoauth2":
            used.append(("imap.oauth2_token", self.imap.oauth2_token))
        if self.smtp.user and self.smtp.auth == "password":
            used.append(("smtp.password", self.smtp.password))
        if self.smtp.user and self.smtp.auth == "xoauth2":
            used.append(("smtp.oauth2_token", self.smtp.oauth2_token))
        return [(key, why) for key, secret in used if (why := secret.problem())]

    @property
    def ingress_domains(self) -> frozenset[str]:
        """The domains the ingress takes mail for."""
        if self.ingress.domains:
            return frozenset(d.strip().rstrip(".").lower() for d in self.ingress.domains)
        addresses = [self.support.address, *self.support.own_addresses]
        return frozenset(a.rpartition("@")[2].lower() for a in addresses)

    @_model_validator(mode="after")
    def _references(self) -> Config:
        problems = list(self.reference_problems())
        if problems:
            raise ValueError("; ".join(f"{k}: {m}" for k, m in problems))
        return self

    def reference_problems(self) -> Iterator[tuple[str, str]]:
        roles = {p.address: p.role for p in self.people}
        seen: set[str] = set()
        for i, p in enumerate(self.people):
            if p.address in seen:
                yield f"people[{i}].address", f"{p.address} is listed twice"
            seen.add(p.address)

        def ref(key: str, addr: str, role: str, required: bool) -> Iterator[tuple[str, str]]:
            if not addr:
                if required:
                    yield key, f"required: the address of a configured {role}"
                return
            got = roles.get(addr.lower())
            if got is None:
                yield key, f"{addr} is not in [[people]]"
            elif got != role and not (role == "se" and got == "lead"):
                yield key, f"{addr} is a {got}, not an {role}"

        yield from ref("routing.default_se", self.routing.default_se, "se", True)
        yield from ref("routing.default_sc", self.routing.default_sc, "sc", False)
        esc = self.routing.escalation
        if esc and esc.lower() not in roles:
            yield "routing.escalation", f"{esc} is not in [[people]]"
        kept = self.retention.resolved_mail_days
        if kept and kept <= self.sla.reopen_days:
            reopen = f"sla.reopen_days ({self.sla.reopen_days:g})"
            why = f"{kept} days is within {reopen}: a reply reopening a ticket would not find it"
            yield "retention.resolved_mail_days", why
        products = {p.name for p in self.products}
        for i, pr in enumerate(self.products):
            yield from ref(f"products[{i}].owner", pr.owner, "se", True)
            yield from ref(f"products[{i}].backup", pr.backup, "se", False)
        for i, a in enumerate(self.accounts):
            yield from ref(f"accounts[{i}].se", a.se, "se", False)
            yield from ref(f"accounts[{i}].sc", a.sc, "sc", False)
            if a.product and a.product not in products:
                yield f"accounts[{i}].product", f"{a.product} is not in [[products]]"
            if not a.domains and not a.addresses:
                yield f"accounts[{i}]", "give domains or addresses"
        for day in WEEKDAYS:
            yield from ref(f"rota.{day}", getattr(self.rota, day), "se", False)
        for day, addr in self.rota.overrides.items():
            yield from ref(f"rota.overrides.{day}", addr, "se", False)
        if self.imap.enabled:
            if not self.imap.user:
                yield "imap.user", "required when imap.enabled"
            secret = self.imap.oauth2_token if self.imap.auth == "xoauth2" else self.imap.password
            name = "imap.oauth2_token" if self.imap.auth == "xoauth2" else "imap.password"
            if not secret.configured:
                yield name, "give file, env or command"
        if self.smtp.user and self.smtp.auth == "xoauth2":
            if not self.smtp.oauth2_token.configured:
                yield "smtp.oauth2_token", "give file, env or command when smtp.auth = xoauth2"
        elif self.smtp.user and not self.smtp.password.configured:
            yield "smtp.password", "give file or env when smtp.user is set"


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"function-after[", "function-before["} or "[" in str(part):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_config(data: dict[str, Any]) -> Config:
    """Validate a config mapping; raise :class:`ConfigError` listing every problem by key (the
    cross-references too: a bad value elsewhere in the file does not hide them)."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        # A field's error stops the checks across sections (routing.default_se in [[people]],
        # and the like): run them too, with each bad value left out.
        trimmed = copy.deepcopy(data)
        if any([_drop(trimmed, tuple(err["loc"])) for err in exc.errors()]):
            try:
                Config.model_validate(trimmed)
            except ValidationError as again:
                problems += [
                    p for p in _problems(again) if p not in problems and p[1] != "Field required"
                ]
        raise ConfigError(problems) from None


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        key = _loc(tuple(err["loc"]))
        # Cross-reference problems carry their own keys ("key: message; key: message").
        if key == "(top level)" and ": " in msg:
            for part in msg.split("; "):
                k, _, m = part.partition(": ")
                problems.append((k, m))
        else:
            problems.append((key, msg))
    return problems


def _drop(data: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` (a dict key) from ``data``; whether one was removed."""
    for step in loc[:-1]:
        if (isinstance(data, dict) and step in data) or (
            isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data)
        ):
            data = data[step]
        else:
            return False
    if loc and isinstance(data, dict) and loc[-1] in data:
        del data[loc[-1]]
        return True
    return False


def _read(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError([("(file)", f"cannot read {path}: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("(file)", f"not valid TOML: {exc}")]) from None


def load_config(path: str | Path, team: str | None = None) -> Config:
    """Read and validate a TOML config file; of a file with ``[[teams]]``, the named team's."""
    teams = parse_teams(_read(path))
    if team is None:
        if len(teams) > 1 or teams[0][0]:
            names = ", ".join(name for name, _ in teams)
            raise ConfigError([("teams", f"this file serves teams ({names}): name one (--team)")])
        return teams[0][1]
    for name, config in teams:
        if name == team:
            return config
    known = ", ".join(name for name, _ in teams if name) or "none"
    raise ConfigError([("--team", f"no team {team!r} in this file (its teams: {known})")])


def load_teams(path: str | Path) -> list[tuple[str, Config]]:
    """Every team a config file serves, by name (one unnamed team for a file without
    ``[[teams]]``)."""
    return parse_teams(_read(path))


_TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: tables merged key by key, anything else (lists of people,
    accounts, products) replaced whole."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_teams(data: dict[str, Any]) -> list[tuple[str, Config]]:
    """Several support mailboxes (teams) in one file: each ``[[teams]]`` table is laid over the
    rest of the file (what the teams share: the relay, retries, retention, logging), so a team
    has its own address, mailbox, people, accounts, hours, policy and database. One process
    serves them all; no two may share an address, a mailbox, a database or a port."""
    if "teams" not in data:
        return [("", parse_config(data))]
    shared = {k: v for k, v in data.items() if k != "teams"}
    tables = data["teams"]
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ConfigError([("teams", "a list of tables: [[teams]] with a name each")])
    problems: list[tuple[str, str]] = []
    teams: list[tuple[str, Config]] = []
    for i, table in enumerate(tables):
        name = str(table.get("name", ""))
        where = f"teams[{i}]" if not _TEAM_NAME.fullmatch(name) else f"teams.{name}"
        if not _TEAM_NAME.fullmatch(name):
            problems.append((f"{where}.name", "a short name: lower-case letters, digits, '-'"))
        try:
            config = parse_config(merged(shared, {k: v for k, v in table.items() if k != "name"}))
        except ConfigError as exc:
            problems += [(f"{where}.{key}", msg) for key, msg in exc.problems]
            continue
        teams.append((name, config))
    problems += _shared_by_two(teams)
    if problems:
        raise ConfigError(problems)
    return [(name, _with_siblings(config, teams)) for name, config in teams]


def _with_siblings(config: Config, teams: list[tuple[str, Config]]) -> Config:
    """A team's config with its sibling teams' addresses among its own: a mail one team's
    mailbox copies to another's is never a customer adding a participant, nor answered."""
    own = list(config.support.own_addresses)
    for _, other in teams:
        for address in (other.support.address, *other.support.own_addresses):
            if address.lower() != config.support.address.lower() and address not in own:
                own.append(address)
    support = config.support.model_copy(update={"own_addresses": own})
    return config.model_copy(update={"support": support})


def _shared_by_two(teams: list[tuple[str, Config]]) -> list[tuple[str, str]]:
    """What two teams must not share: their name, address, mailbox, database and ports."""

    def things(c: Config) -> Iterator[tuple[str, tuple[str, object]]]:
        """(its key, what it is) of each thing a team must have to itself."""
        yield "support.address", ("address", c.support.address.lower())
        database = c.database.url or os.path.realpath(c.database.path)  # ./x is x
        yield "database", ("database", database)
        yield "support.ticket_prefix", ("ticket prefix", c.support.ticket_prefix.upper())
        if c.imap.enabled:
            yield "imap", ("mailbox", (c.imap.host, c.imap.port, c.imap.user, c.imap.inbox))
        for key, on, port in (
            ("metrics.port", c.metrics.enabled, c.metrics.port),
            ("web.port", c.web.enabled, c.web.port),
            ("ingress.port", c.ingress.enabled, c.ingress.port),
        ):
            if on and port:
                yield key, ("port", port)

    problems: list[tuple[str, str]] = []
    names: set[str] = set()
    owner: dict[tuple[str, object], str] = {}
    for name, config in teams:
        if name in names:
            problems.append((f"teams.{name}.name", "two teams have this name"))
        names.add(name)
        for key, thing in things(config):
            first = owner.setdefault(thing, name)
            if first != name:
                problems.append((f"teams.{name}.{key}", f"the same as team {first}'s"))
    return problems


def schema_fields(
    model: type[BaseModel] = Config, prefix: str = ""
) -> Iterator[tuple[str, FieldInfo]]:
    """Every leaf of the schema with its dotted key (list items as ``people[].name``)."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from schema_fields(ann, key + ".")
        elif args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            yield from schema_fields(args[0], key + "[].")
        else:
            yield key, field


def schema_keys() -> Iterator[str]:
    """Every dotted key of the schema."""
    return (key for key, _ in schema_fields())


def toml_value(value: Any) -> str:
    """A default as it is written in the config file (TOML), or "(unset)"."""
    if value is None:
        return "(unset)"
    if isinstance(value, StrEnum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        return toml_value(value.model_dump(mode="json"))
    return json.dumps(str(value))


def reference_table() -> str:
    """The config reference as a Markdown table (the README's is this output)."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in schema_fields():
        if field.is_required():
            default = "(required)"
        elif field.default_factory is not None:
            default = toml_value(field.default_factory())  # type: ignore[call-arg]
        else:
            default = toml_value(field.default)
        default = default.replace("|", "\\|")
        text = (field.description or "").replace("|", "/")
        rows.append(f"| `{key}` | `{default}` | {text} |")
    return "\n".join(rows)
