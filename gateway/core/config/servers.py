"""The config's servers and files: IMAP, the SMTP relay, the SMTP/LMTP ingress, the database,
metrics, the web view, logging."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from gateway.core.config.base import (
    Secret,
    Section,
    TlsMode,
)


class ImapSection(Section):
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


class SmtpSection(Section):
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
    connections: int = Field(
        2,
        ge=1,
        le=4,
        description="Connections to the relay at once while mail waits (a distant relay takes a"
        " backlog faster over several). Whatever their number, at most 4 mails are ever sent"
        " and not yet recorded as sent (what a crash could send twice). A relay that refuses"
        " one more is asked for no more than it took for the next 10 minutes.",
    )
    retry_initial_seconds: float = Field(
        30, gt=0, description="First retry delay after a 4xx or a connection failure."
    )
    retry_max_seconds: float = Field(1800, gt=0, description="Cap of the retry delay.")
    give_up_hours: float = Field(
        48, gt=0, description="Dead-letter a message still failing temporarily after this long."
    )


class IngressSection(Section):
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


class DatabaseSection(Section):
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


class MetricsSection(Section):
    enabled: bool = Field(True, description="Serve Prometheus /metrics and /healthz.")
    host: str = Field("127.0.0.1", description="Listen address (keep it on loopback or a VPN).")
    port: int = Field(9464, ge=0, le=65535, description="Listen port (0: any free port).")


class WebSection(Section):
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


class LogSection(Section):
    level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    format: Literal["plain", "json"] = Field(
        "plain", description="plain (key=value; journald-aware) or json (one object per line)."
    )
