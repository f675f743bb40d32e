"""Operations: held mail, stuck mail and shunted tickets, and the actions a lead or SE
takes on them (each in one transaction, recorded with who took it)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import (
    RedirectResponse,
    Response,
)

from gateway.core.log import event
from gateway.core.models import InboxState
from gateway.mail import conversation
from gateway.store import inbox, outbox, shunts
from gateway.store import web as web_store
from gateway.store.db import Db
from gateway.store.views import actions as recent_actions
from gateway.store.views import (
    held,
    stuck,
)
from gateway.web import auth
from gateway.web.site import (
    Refused,
    SiteBase,
    row_id,
)
from gateway.web.timeline import show

log = logging.getLogger("gateway.web")


class OperationsPages(SiteBase):
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
        if row is None or row.state not in (InboxState.QUARANTINED, InboxState.SPAM):
            return self.page(request, "error.html.j2", status=404, message="Not in quarantine.")
        shown = await asyncio.to_thread(show, row.raw)
        return self.page(request, "held.html.j2", row=row, shown=shown)

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


def _apply(db: Db, what: str, action: str, target: str, now: datetime) -> str:
    n_or_none = row_id(target)
    if what == "inbox" and n_or_none is not None:
        n = n_or_none
        row = inbox.get_row(db, n)
        if row is None or row.state not in (InboxState.QUARANTINED, InboxState.SPAM):
            return f"message {n} is not in quarantine"
        if action == "retry":
            inbox.requeue(db, n, conversation.keys)
            return f"message {n} will be processed again"
        if action == "release" and row.state == InboxState.SPAM:
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
