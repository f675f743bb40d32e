"""The tickets a person may see, and one ticket's story (an SC reads what the
customer got, never the SE's internal copies)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import get_args
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import (
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from gateway.core.config import Priority
from gateway.core.models import Periodic, Role, TicketState
from gateway.promise.calendar import BusinessCalendar
from gateway.promise.followup import sections
from gateway.store import Db, board, sends
from gateway.store.board import Board
from gateway.store.views import (
    Due,
    TicketFilter,
    may_see,
    raw_mail,
    record,
    ticket_by_key,
    tickets,
)
from gateway.web import auth
from gateway.web.site import (
    SC_HIDDEN_IN,
    SC_KINDS,
    Refused,
    SiteBase,
    row_id,
)
from gateway.web.timeline import show

log = logging.getLogger("gateway.web")


class TicketPages(SiteBase):
    # -- tickets ---------------------------------------------------------------------------

    async def home(self, request: Request, who: auth.Viewer) -> Response:
        """An SC's home is their accounts' board (what their digest says); everyone else's the
        ticket list."""
        if who.role is not Role.SC:
            return RedirectResponse("/tickets", status_code=303)
        config, now = self.config(), self.clock.now()
        accounts = [a.name for a in config.accounts if a.sc.lower() == who.address.lower()]
        cal = BusinessCalendar.from_config(config.hours)
        today = cal.local_date(now)
        day_ends = cal.end_of_day(today) if cal.is_business_day(today) else now

        def read(db: Db) -> tuple[datetime, Board]:
            last = sends.last(db, Periodic.SC_DIGEST, who.address)
            since = last or now - timedelta(days=1)
            return since, board.of(db, accounts, since, day_ends)

        since, found = await self.reader.run(read)
        names = {p.address: p.name for p in config.people}
        return self.page(
            request,
            "board.html.j2",
            accounts=accounts,
            since=self._local(since),
            open=len(found.open),
            sections=sections(lambda a: names.get(a.lower(), a), self._local, found),
        )

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
