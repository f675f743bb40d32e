"""The pages: sign-in, tickets, a ticket's story, the promise record, operations.

Every page but sign-in, ``/healthz``, ``/metrics`` and the style sheet needs a signed-in person;
every POST needs the session's CSRF token; every read runs on the read-only connection, every
action in one transaction of the daemon's store, recorded with who took it.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any, get_args
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from gateway.core.clock import Clock, local_time
from gateway.core.config import Config, Priority
from gateway.core.log import event
from gateway.core.models import Action, DateKind, InboxState, MailKind, TicketState
from gateway.mail import conversation
from gateway.promise import keeping as report
from gateway.store import Store, inbox, outbox, outcomes, shunts
from gateway.store import web as web_store
from gateway.store.db import Db, Reader, from_ts
from gateway.store.views import (
    Due,
    TicketFilter,
    held,
    may_see,
    raw_mail,
    record,
    stuck,
    ticket_by_key,
    tickets,
)
from gateway.store.views import actions as recent_actions
from gateway.web import auth, charts
from gateway.web.timeline import show

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
class Site:
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

    # -- sign-in ---------------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        return self.page(
            request,
            "login.html.j2",
            error="",
            address="",
            request_next=request.query_params.get("next", ""),
        )

    async def login(self, request: Request) -> Response:
        fields = await self.form(request)
        address = fields.get("address", "").strip().lower()[:254]
        client = self.client(request)
        web = self.config().web
        now = self.clock.now()
        since = now - timedelta(minutes=web.lockout_minutes)
        locked = await self.reader.run(
            lambda db: web_store.login_locked(db, address, client, since, web.login_attempts)
        )
        if locked:
            event(log, "web-login-locked", logging.WARNING, address=address, client=client)
            return self._login_again(
                request,
                fields,
                429,
                f"Too many wrong passwords: try again in {web.lockout_minutes:g} minutes.",
            )
        if self._checking >= 4 * web.password_checks:
            event(log, "web-login-busy", logging.WARNING, address=address, client=client)
            return self._login_again(
                request, fields, 429, "Too many people are signing in: try again in a minute."
            )
        stored, gen = await self.reader.run(lambda db: web_store.credentials(db, address))
        person = auth.viewer(self.config(), address)
        self._checking += 1
        try:
            async with self._checks:
                password = fields.get("password", "")
                ok = await asyncio.to_thread(auth.check_password, stored, password)
        finally:
            self._checking -= 1
        if not ok or person is None:
            await self.store.run(lambda db: web_store.login_failed(db, address, client, now, since))
            event(log, "web-login-failed", logging.WARNING, address=address, client=client)
            return self._login_again(
                request, fields, 401, "That address and password do not match."
            )
        await self.store.run(lambda db: web_store.login_succeeded(db, address))
        request.session.clear()
        request.session.update(
            who=person.address, at=now.timestamp(), gen=gen, csrf=auth.new_csrf()
        )
        event(log, "web-login", address=person.address, client=client)
        return RedirectResponse(local_target(fields.get("next", "")), status_code=303)

    def _login_again(
        self, request: Request, fields: dict[str, str], status: int, error: str
    ) -> Response:
        """The sign-in page again, with what was typed (not the password) and why."""
        address = fields.get("address", "").strip().lower()[:254]
        return self.page(
            request,
            "login.html.j2",
            status=status,
            address=address,
            request_next=fields.get("next", ""),
            error=error,
        )

    async def logout(self, request: Request) -> Response:
        await self.form(request)
        who = request.session.get("who")
        if isinstance(who, str):  # every session of theirs ends, copies of the cookie too
            await self.store.run(lambda db: web_store.end_sessions(db, who))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # -- tickets ---------------------------------------------------------------------------

    async def home(self, request: Request, who: auth.Viewer) -> Response:
        return RedirectResponse("/tickets", status_code=303)

    async def ticket_list(self, request: Request, who: auth.Viewer) -> Response:
        q = request.query_params
        due = q.get("due", "")
        f = TicketFilter(
            state=q.get("state", "") if q.get("state", "") in set(TicketState) else "",
            se=q.get("se", ""),
            sc=q.get("sc", ""),
            account=q.get("account", ""),
            product=q.get("product", ""),
            priority=q.get("priority", ""),
            due=Due(due) if due in set(Due) else Due.ANY,
            waiting=q.get("waiting", "") == "1",
            q=q.get("q", "")[:200],
        )
        try:
            page = min(max(1, int(q.get("page", "1")[:12])), 10**9)  # an OFFSET SQL can take
        except ValueError:
            page = 1
        size = self.config().web.page_size
        now = self.clock.now()

        rows, total = await self.reader.run(lambda db: tickets(db, f, who.scope, now, page, size))
        options = self._choices(who)
        kept = {k: v for k, v in q.items() if k != "page" and v}
        pages = max(1, -(-total // size))
        return self.page(
            request,
            "tickets.html.j2",
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            f=f,
            options=options,
            states=[s.value for s in TicketState],
            prev_link="?" + urlencode({**kept, "page": page - 1}) if page > 1 else "",
            next_link="?" + urlencode({**kept, "page": page + 1}) if page < pages else "",
        )

    def _choices(self, who: auth.Viewer) -> dict[str, list[str]]:
        """What the list's filters offer: the configured people, accounts and products (an SC:
        their own accounts)."""
        config = self.config()
        people = {p.address: p.role for p in config.people}
        accounts = [a.name for a in config.accounts]
        if not who.staff:
            accounts = [a for a in accounts if a in who.scope.accounts]
        return {
            "se": sorted(a for a, r in people.items() if r == "se"),
            "sc": sorted(a for a, r in people.items() if r == "sc"),
            "account": sorted(accounts),
            "product": sorted(p.name for p in config.products),
            "priority": list(get_args(Priority)),
        }

    async def ticket(self, request: Request, who: auth.Viewer) -> Response:
        key = request.path_params["key"]
        found = await self.reader.run(lambda db: ticket_by_key(db, key))
        if found is None:
            return self.page(request, "error.html.j2", status=404, message=f"No ticket {key}.")
        if not may_see(found, who.scope):
            raise Refused("this ticket belongs to an account you are not the consultant of")
        kinds = None if who.staff else frozenset(k.value for k in SC_KINDS)
        hidden = frozenset() if who.staff else SC_HIDDEN_IN
        rec = await self.reader.run(lambda db: record(db, found, kinds, hidden))
        # Reading MIME is CPU: in a worker thread, never on the daemon's event loop.
        mails = await asyncio.to_thread(lambda: [(m, show(m.raw)) for m in rec.mails])
        return self.page(request, "ticket.html.j2", t=found, rec=rec, mails=mails)

    async def raw(self, request: Request, who: auth.Viewer) -> Response:
        if not who.lead:
            raise Refused("only leads read raw messages")
        direction = request.path_params["direction"]
        wanted = row_id(request.path_params["id"])
        got = (
            None
            if wanted is None
            else await self.reader.run(lambda db: raw_mail(db, direction, wanted))
        )
        if got is None or direction not in ("in", "out"):
            return PlainTextResponse("no such message", status_code=404)
        raw_bytes, _ = got
        name = f"{direction}-{request.path_params['id']}.eml"
        # As text, never as a page: whatever the mail holds is not run by the browser.
        return Response(
            raw_bytes,
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    # -- the promise record ------------------------------------------------------------------

    def _period(self, request: Request) -> tuple[date, date]:
        today = self.clock.now().astimezone(self._tz()).date()
        q = request.query_params
        try:
            since = date.fromisoformat(q.get("since", ""))
        except ValueError:
            since = today.replace(day=1)
        try:
            until = date.fromisoformat(q.get("until", ""))
        except ValueError:
            until = today
        return since, max(since, until)

    async def _figures(self, request: Request) -> tuple[date, date, list[dict[str, Any]]]:
        since, until = self._period(request)
        tz = self._tz()
        start = datetime.combine(since, time.min, tz)
        end = datetime.combine(until + timedelta(days=1), time.min, tz)
        rows = await self.reader.run(lambda db: outcomes.per_ticket(db, start, end))

        def week(r: Any, field: str) -> str:
            if field != "week":
                return str(getattr(r, field)) or "(none)"
            d = datetime.fromisoformat(r.received_at).astimezone(tz).date()
            return (d - timedelta(days=d.weekday())).isoformat()

        # Thousands of tickets' sums: in a worker thread, never on the daemon's event loop.
        figures = await asyncio.to_thread(
            report.figures,
            rows,
            self.config().sla.acknowledge_minutes,
            self.clock.now(),
            ("week", "se", "product", "account"),
            week,
        )
        return since, until, figures

    async def promise_record(self, request: Request, who: auth.Viewer) -> Response:
        if not who.staff:
            raise Refused("the promise record is for leads and engineers")
        since, until, figures = await self._figures(request)
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in figures:
            groups.setdefault(r["scope"], []).append(r)
        weeks = sorted(groups.get("week", []), key=lambda r: r["name"])
        week_charts = [
            charts.columns(title, [_bar(r, measure, short=True) for r in weeks])
            for title, measure in _MEASURES
        ]
        week_charts.append(
            charts.columns(
                "Revised dates sent",
                [charts.Bar(r["name"][5:], r["revised_etas"]) for r in weeks],
                share=False,
            )
        )
        by = {
            scope: charts.bars(
                f"Dates kept, by {label}",
                [_bar(r, "dates") for r in sorted(groups.get(scope, []), key=lambda r: r["name"])],
            )
            for scope, label in (("se", "engineer"), ("product", "product"), ("account", "account"))
        }
        return self.page(
            request,
            "report.html.j2",
            since=since,
            until=until,
            overall=groups["all"][0],
            week_charts=week_charts,
            by=by,
            groups=groups,
            csv_link="/report.csv?" + urlencode({"since": since, "until": until}),
        )

    async def report_csv(self, request: Request, who: auth.Viewer) -> Response:
        if not who.staff:
            raise Refused("the promise record is for leads and engineers")
        since, until, figures = await self._figures(request)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=report.COLUMNS)
        writer.writeheader()
        writer.writerows(figures)
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="promises-{since}-{until}.csv"'},
        )

    # -- operations ------------------------------------------------------------------------

    async def operations(self, request: Request, who: auth.Viewer) -> Response:
        if not who.staff:
            raise Refused("operations are for leads and engineers")

        def job(db: Db) -> tuple[Any, ...]:
            return (
                held(db),
                stuck(db),
                shunts.listing(db),
                outbox.blocks(db, now),
                recent_actions(db),
            )

        now = self.clock.now()
        quarantine, outgoing, shunted, blocked, done = await self.reader.run(job)
        return self.page(
            request,
            "ops.html.j2",
            health=self.health(),
            quarantine=quarantine,
            outgoing=outgoing,
            shunted=shunted,
            blocked=blocked,
            done=done,
            message=request.query_params.get("done", "")[:200],
        )

    async def held_mail(self, request: Request, who: auth.Viewer) -> Response:
        if not who.staff:
            raise Refused("operations are for leads and engineers")
        inbox_id = row_id(request.path_params["id"])
        row = (
            None
            if inbox_id is None
            else await self.reader.run(lambda db: inbox.get_row(db, inbox_id))
        )
        if row is None or row["state"] not in (InboxState.QUARANTINED, InboxState.SPAM):
            return self.page(request, "error.html.j2", status=404, message="Not in quarantine.")
        shown = await asyncio.to_thread(show, bytes(row["raw"]))
        return self.page(request, "held.html.j2", row=dict(row), shown=shown)

    async def act(self, request: Request, who: auth.Viewer) -> Response:
        """A lead's action on operations: retry or release held mail, send a dead letter again,
        retry a shunted ticket now."""
        fields = await self.form(request)
        if not who.lead:
            raise Refused(
                "only leads act on quarantine, spam, dead letters, blocked addresses and"
                " shunted tickets"
            )
        what, action, target = (
            request.path_params["what"],
            request.path_params["action"],
            request.path_params["target"],
        )
        now = self.clock.now()

        def job(db: Db) -> str:
            outcome = _apply(db, what, action, target, now)
            web_store.record_action(db, who.address, f"{what} {action}", target, outcome, now)
            return outcome

        outcome = await self.store.run(job)
        event(
            log,
            "web-action",
            who=who.address,
            what=what,
            action=action,
            target=target,
            outcome=outcome,
        )
        self.wake()
        del fields
        return RedirectResponse("/ops?" + urlencode({"done": outcome}), status_code=303)

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


_MEASURES = (
    ("Dates kept", "dates"),
    ("Acknowledged within the target", "ack"),
    ("Answered by the first date", "answered"),
    ("Resolved by the target", "resolved"),
)


def _bar(r: dict[str, Any], measure: str, short: bool = False) -> charts.Bar:
    label = r["name"][5:] if short else r["name"]  # weeks: "11-02" of "2026-11-02"
    done, of = {
        "dates": (r["dates_met"], r["dates_met"] + r["dates_missed"]),
        "ack": (r["acknowledged_in_time"], r["tickets"]),
        "answered": (r["answered_in_time"], r["reply_came_due"]),
        "resolved": (r["resolved_in_time"], r["resolution_came_due"]),
    }[measure]
    return charts.Bar(label, done / of if of else None, f"{done}/{of}")


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


def _apply(db: Db, what: str, action: str, target: str, now: datetime) -> str:
    n_or_none = row_id(target)
    if what == "inbox" and n_or_none is not None:
        n = n_or_none
        row = inbox.get_row(db, n)
        if row is None or row["state"] not in (InboxState.QUARANTINED, InboxState.SPAM):
            return f"message {n} is not in quarantine"
        if action == "retry":
            inbox.requeue(db, n, conversation.keys)
            return f"message {n} will be processed again"
        if action == "release" and row["state"] == InboxState.SPAM:
            inbox.requeue(db, n, conversation.keys, not_spam=True)
            return f"message {n} is not spam: it will be processed as a person's mail"
        if action == "release":
            inbox.release(db, n, now)
            return f"message {n} is marked handled; no mail was sent"
    if what == "outbox" and action == "retry" and n_or_none is not None:
        ok = outbox.revive(db, n_or_none, now)
        return f"mail {target} will be sent again" if ok else f"mail {target} is not a dead letter"
    if what == "block" and action == "lift":
        ok = outbox.lift_block(db, target)
        return f"mail may go to {target} again" if ok else f"{target} is not blocked"
    if what == "shunt" and action == "retry":
        ok = shunts.retry_now(db, target, now)
        return f"ticket {target} will be tried now" if ok else f"ticket {target} is not shunted"
    return "nothing done: unknown action"


@functools.cache
def _page_source(name: str) -> str:
    """A page template or the style sheet, read from the package once."""
    return (resources.files("gateway.web") / "html" / name).read_text(encoding="utf-8")


def routes(site: Site, guard: Callable[..., Any]) -> list[Route]:
    """The URL table (``guard`` wraps a page that needs a signed-in person)."""
    return [
        Route("/healthz", site.healthz),
        Route("/metrics", site.metrics),
        Route("/site.css", site.style),
        Route("/login", site.login_page, methods=["GET"]),
        Route("/login", site.login, methods=["POST"]),
        Route("/logout", site.logout, methods=["POST"]),
        Route("/", guard(site.home)),
        Route("/tickets", guard(site.ticket_list)),
        Route("/tickets/{key}", guard(site.ticket)),
        Route("/mail/{direction}/{id:int}", guard(site.raw)),
        Route("/report", guard(site.promise_record)),
        Route("/report.csv", guard(site.report_csv)),
        Route("/ops", guard(site.operations)),
        Route("/ops/inbox/{id:int}", guard(site.held_mail)),
        Route("/ops/{what}/{target}/{action}", guard(site.act), methods=["POST"]),
    ]
