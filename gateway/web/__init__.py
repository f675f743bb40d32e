"""The web view: a small server-rendered site in the daemon's event loop (Starlette on uvicorn,
its own listener, loopback by default; put a TLS reverse proxy in front of it).

Reads go through a read-only connection of their own (never waiting on the daemon's writes),
sessions are signed cookies (``HttpOnly``, ``SameSite=Strict``), every form carries a CSRF
token, and the key that signs cookies lives in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.clock import Clock
from gateway.core.config import Config
from gateway.core.log import event
from gateway.store import Store
from gateway.store import web as web_store
from gateway.store.db import Reader
from gateway.web import auth
from gateway.web.routes import SECURITY_HEADERS, Refused, Site, routes

log = logging.getLogger("gateway.web")

Page = Callable[[Request, auth.Viewer], Awaitable[Response]]


class _Headers:
    """Security headers on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in SECURITY_HEADERS.items():
                    if k.lower().encode() not in present:
                        headers.append((k.lower().encode(), v.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the daemon owns SIGTERM, SIGINT and SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebView:
    def __init__(
        self,
        config: Callable[[], Config],
        clock: Clock,
        store: Store,
        health: Callable[[], dict[str, object]],
        wake: Callable[[], None],
        metrics_text: Callable[[], bytes] | None = None,
    ) -> None:
        self.config = config
        self.reader = Reader(config().database.target)
        self.site = Site(config, clock, self.reader, store, health, wake, metrics_text)
        self.store = store
        self._server: _Server | None = None
        self._task: Any = None
        self.port = 0

    def guard(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in people: anyone else goes to sign-in."""

        async def endpoint(request: Request) -> Response:
            who = await self.site.signed_in(request)
            request.state.who = who
            if who is None:
                if request.method != "GET":
                    return self.site.page(
                        request, "error.html.j2", status=403, message="Sign in first."
                    )
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            return await page(request, who)

        return endpoint

    async def refused(self, request: Request, exc: Exception) -> Response:
        """Any page's refusal (a role, a stale form; signed in or not) is a 403 page."""
        who = getattr(request.state, "who", None)
        event(
            log,
            "web-refused",
            logging.WARNING,
            who=who.address if who is not None else "",
            path=request.url.path,
        )
        return self.site.page(request, "error.html.j2", status=403, message=str(exc))

    async def app(self) -> Starlette:
        key = await self.store.run(web_store.signing_key)
        web = self.config().web
        return Starlette(
            routes=routes(self.site, self.guard),
            exception_handlers={Refused: self.refused},
            middleware=[
                Middleware(_Headers),
                Middleware(
                    SessionMiddleware,
                    secret_key=key,
                    session_cookie="support_gateway",
                    max_age=int(web.session_hours * 3600),
                    same_site="strict",
                    https_only=web.secure_cookies,
                ),
            ],
        )

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port); return the port."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            await self.app(),
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=False,
        )
        # Our own events say who signed in and acted; a line per request would drown them.
        logging.getLogger("uvicorn.access").disabled = True
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="web")
        # uvicorn says it has started only by a flag (the socket is ours, so this is quick).
        while not self._server.started and not self._task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()
        return self.port

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            if not self._task.done():
                self._task.cancel()
        self.reader.close()
        self._server = self._task = None
