"""What every page of the web view shares: the site's dependencies and helpers (templates,
the signed-in person, CSRF-checked forms), who may read what, and the pages open to all."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    Response,
)

from gateway.core.clock import Clock, local_time
from gateway.core.config import Config
from gateway.core.models import Action, DateKind, MailKind
from gateway.store import Store
from gateway.store import web as web_store
from gateway.store.db import Reader, from_ts
from gateway.store.views import (
    Due,
)
from gateway.web import auth

log = logging.getLogger("gateway.web")


# What an SC reads of a ticket's outgoing mail: what the customer got, and the mail to them.
# The SE's copies, notes and command answers carry the relay address and stay with staff.
SC_KINDS = frozenset(
    {
        MailKind.ACK,
        MailKind.REPLY,
        MailKind.ETA,
        MailKind.REVISED_ETA,
        MailKind.STATUS_UPDATE,
        MailKind.MERGE_NOTICE,
        MailKind.DONE,
        MailKind.MISSED_ALERT,
        MailKind.BOUNCE_ALERT,
        MailKind.DEAD_LETTER_ALERT,
    }
)
# Nor the SE's own mail to the relay address (it carries the address, notes and commands).
SC_HIDDEN_IN = frozenset({Action.RELAY.value, Action.REFUSED.value})
# A commitment's kind as a reader of the web view says it.
DATE_KIND_WORDS: dict[DateKind, str] = {
    DateKind.ACTIONABLE: "reply",
    DateKind.RESOLUTION: "resolution",
    DateKind.POINT: "point",
    DateKind.UPDATE: "status update",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Refused(Exception):
    """The signed-in person may not see or do this (403)."""


@dataclass
class SiteBase:
    """The web view's dependencies: the live config (it changes on SIGHUP), the clock, the
    read-only connection, the daemon's store for actions, and what the operations page shows."""

    config: Callable[[], Config]
    clock: Clock
    reader: Reader
    store: Store
    health: Callable[[], dict[str, object]]
    wake: Callable[[], None]
    metrics_text: Callable[[], bytes] | None = None

    def __post_init__(self) -> None:
        web = self.config().web
        # argon2 costs 64 MiB and a core a check: at most this many at once, a few more wait.
        self._checks = asyncio.Semaphore(web.password_checks)
        self._checking = 0
        self.env = jinja2.Environment(
            loader=jinja2.FunctionLoader(_page_source),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters["local"] = self._local
        self.env.filters["iso"] = from_ts
        self.env.filters["words"] = in_words
        self.env.globals["kinds"] = {"overdue": Due.OVERDUE.value, "day": Due.DAY.value}
        self.env.globals["date_kind"] = DATE_KIND_WORDS

    # -- helpers ---------------------------------------------------------------------------

    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.config().hours.timezone)

    def _local(self, t: datetime | None) -> str:
        if t is None:
            return "-"
        return local_time(t, self._tz())

    def page(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        who = getattr(request.state, "who", None)  # set by the guard of a signed-in page
        body = self.env.get_template(name).render(
            who=who, csrf=self.csrf(request), team=self.config().support.display_name, **ctx
        )
        return HTMLResponse(body, status_code=status)

    def csrf(self, request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = auth.new_csrf()
            request.session["csrf"] = token
        return token

    async def signed_in(self, request: Request) -> auth.Viewer | None:
        """The person behind the request: named by a trusted proxy, or by a session cookie that
        is young enough and was signed in since they last signed out or changed password."""
        config = self.config()
        header = config.web.trusted_header
        if header and request.client and request.client.host in config.web.trusted_proxies:
            named = request.headers.get(header, "")
            return auth.viewer(config, named) if named else None
        who = request.session.get("who")
        at = request.session.get("at")
        gen = request.session.get("gen")
        if not isinstance(who, str) or not isinstance(at, (int, float)) or not isinstance(gen, int):
            return None
        age = self.clock.now().timestamp() - at
        if not 0 <= age <= config.web.session_hours * 3600:
            return None
        if await self.reader.run(lambda db: web_store.generation(db, who)) != gen:
            return None  # signed out since, or a new password
        return auth.viewer(config, who)

    def client(self, request: Request) -> str:
        """Who is asking, for the lockout: the peer, or behind a trusted proxy the address it
        saw (the last one in X-Forwarded-For: the one the proxy itself added)."""
        peer = request.client.host if request.client else "?"
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded and peer in self.config().web.trusted_proxies:
            return forwarded.rsplit(",", 1)[-1].strip()[:64] or peer
        return peer

    async def form(self, request: Request) -> dict[str, str]:
        """The POSTed form, once its CSRF token is checked (else :class:`Refused`)."""
        data = await request.form()
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        if not auth.csrf_ok(request.session.get("csrf"), fields.get("csrf")):
            raise Refused("the form is stale or did not come from this site: reload the page")
        return fields

    # -- open to all -------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        """Up or degraded for anyone (a monitor, a load balancer); what is failing (addresses,
        relay errors) only for a signed-in lead or SE, as on the loopback metrics port."""
        report_ = self.health()
        who = await self.signed_in(request)
        if who is None or not who.staff:
            report_ = {"ok": report_["ok"], "status": "up" if report_["ok"] else "degraded"}
        return Response(
            json.dumps(report_),
            status_code=200 if report_["ok"] else 503,
            media_type="application/json",
        )

    async def metrics(self, request: Request) -> Response:
        if self.metrics_text is None:
            return PlainTextResponse("metrics are off", status_code=404)
        return Response(self.metrics_text(), media_type="text/plain; version=0.0.4")

    async def style(self, request: Request) -> Response:
        return Response(
            _page_source("site.css"),
            media_type="text/css",
            headers={"Cache-Control": "max-age=3600"},
        )


def local_target(target: str) -> str:
    """Where to go after signing in: a path on this site, never another site (``//host``,
    ``/\\host`` and ``https:`` are other sites to a browser)."""
    parts = urlsplit(target)
    if (
        not target.startswith("/")
        or "\\" in target
        or parts.scheme
        or parts.netloc
        or target.startswith("//")
        or any(ord(c) < 32 for c in target)
    ):
        return "/tickets"
    return target


def in_words(value: object) -> str:
    """A value as a page says it: yes or no, never Python's True or None."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None or value == "" else str(value)


def row_id(value: object) -> int | None:
    """A row id from a path, or None for what no row has (a 20-digit number overflows both
    engines' integers: a 404, not a 500)."""
    text = str(value)
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


@functools.cache
def _page_source(name: str) -> str:
    """A page template or the style sheet, read from the package once."""
    return (resources.files("gateway.web") / "html" / name).read_text(encoding="utf-8")
