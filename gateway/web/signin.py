"""Sign-in and sign-out: passwords checked a few at a time, lockouts that a restart
keeps."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import (
    RedirectResponse,
    Response,
)

from gateway.core.log import event
from gateway.store import web as web_store
from gateway.web import auth
from gateway.web.site import (
    SiteBase,
    local_target,
)

log = logging.getLogger("gateway.web")


class SignInPages(SiteBase):
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
        # No page asked for: home (an SC's board, everyone else's ticket list).
        return RedirectResponse(local_target(fields.get("next", "") or "/"), status_code=303)

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
