"""The web view under test: the real daemon (its own event loop in a thread, so a blocking
WebDriver never stalls it) with a seeded story, and headless Chromium driven by Selenium
(Debian's chromium and chromium-driver, installed by ``scripts/setup --test``)."""

from __future__ import annotations

import asyncio
import html
import http.cookiejar
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import parse_config
from gateway.daemon.app import Gateway
from gateway.mail import conversation
from gateway.store import inbox
from gateway.store import web as web_store
from gateway.web.auth import hash_password
from tests.conftest import MONDAY_10, base_config, customer_mail, eventually, merge, relay_reply
from tests.harness import transaction

T = TypeVar("T")
PASSWORD = "a long enough passphrase"
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Site:
    """A running daemon with its web view on a loopback port."""

    password = PASSWORD

    def __init__(self, tmp_path: Path, **over: Any) -> None:
        self.tmp_path = tmp_path
        self.over = over
        self.clock = FakeClock(MONDAY_10)
        self.gw: Gateway
        self.sink: SmtpSink
        self._stop: asyncio.Event
        self._new_loop()

    def _new_loop(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._main, daemon=True, name="site")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gw.web_port}"

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            self.sink = SmtpSink()
            await self.sink.start()
            data = base_config(self.tmp_path)
            data["smtp"]["port"] = self.sink.port
            self.gw = Gateway(parse_config(merge(data, self.over)), self.clock, drain_seconds=5)
            await self.gw.start()
        except BaseException as exc:
            self.ready.set_exception(exc)
            raise
        self.ready.set_result(None)
        try:
            await self._stop.wait()
        finally:
            await self.gw.stop()
            await self.sink.stop()

    def start(self) -> None:
        self._thread.start()
        self.ready.result(timeout=60)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def restart(self) -> None:
        """Stop the daemon and start it again on the same database and clock."""
        self.stop()
        self._new_loop()
        self.start()

    def login(self, address: str, password: str, headers: dict[str, str]) -> int:
        """Sign in over plain HTTP (a script's way, not a browser's): the answer's status."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
        with opener.open(self.url + "/login", timeout=10) as r:
            page = r.read().decode()
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token, "the sign-in form carries a CSRF token"
        form = urllib.parse.urlencode(
            {"csrf": html.unescape(token[1]), "address": address, "password": password}
        ).encode()
        request = urllib.request.Request(self.url + "/login", form, headers, method="POST")
        try:
            with opener.open(request, timeout=30) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def call(self, job: Callable[[Gateway], Awaitable[T]], timeout: float = 60) -> T:
        """Run ``job(gateway)`` on the daemon's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(job(self.gw), self.loop).result(timeout)

    # -- the story -----------------------------------------------------------------------

    def receive(self, raw: bytes) -> None:
        async def job(gw: Gateway) -> None:
            now = self.clock.now()
            async with transaction(gw.store) as db:
                inbox.store_raw(db, raw, now, now, source="test", keys=conversation.keys(raw))
            gw.poke()
            await eventually(lambda: self._all_done(gw))

        self.call(job)

    async def _all_done(self, gw: Gateway) -> bool:
        async with transaction(gw.store) as db:
            row = db.execute("SELECT count(*) FROM inbox WHERE state = 'new'").fetchone()
            queued = db.execute("SELECT count(*) FROM outbox WHERE state = 'queued'").fetchone()
        return row is not None and row[0] == 0 and queued is not None and queued[0] == 0

    def passwords(self, *addresses: str) -> None:
        async def job(gw: Gateway) -> None:
            async with transaction(gw.store) as db:
                for a in addresses:
                    web_store.set_password_hash(db, a, hash_password(PASSWORD), MONDAY_10)

        self.call(job)

    def scalar(self, sql: str) -> Any:
        async def job(gw: Gateway) -> Any:
            async with transaction(gw.store) as db:
                row = db.execute(sql).fetchone()
            return row[0] if row else None

        return self.call(job)

    def seed(self) -> None:
        """Jane (Acme: Sam's, Casey's account) asks and Sam resolves it; Bob (Globex: Robin's
        account) asks; two mails land in quarantine."""
        self.receive(customer_mail(1, body="Our export fails with error E42. Can you help?"))
        copy = next(m for m in self.sink.messages if m["X-Support-Kind"] == "se-copy")
        self.receive(
            relay_reply(copy, "#resolved\nFixed in 4.2: the export works again.", n="se-1")
        )
        self.receive(
            customer_mail(
                2,
                sender="bob@globex.example",
                name="Bob Buyer",
                subject="Invoice export is empty",
                body="The invoice export comes out empty since Friday. Why?",
            )
        )
        self.receive(b"\r\n\r\n")
        self.receive(b"\r\n\r\n\r\n")
        self.passwords(
            "lee@example.com", "sam@example.com", "casey@example.com", "robin@example.com"
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kw: object) -> None:
        return None


@contextmanager
def site(tmp_path: Path, seed: bool = True, **over: Any) -> Iterator[Site]:
    s = Site(tmp_path, **over)
    s.start()
    try:
        if seed:
            s.seed()
        yield s
    finally:
        s.stop()


@contextmanager
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    assert CHROMEDRIVER and CHROMIUM, "scripts/setup --test installs chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def submit(driver: webdriver.Chrome, do: Callable[[], object]) -> None:
    """Do what submits a form (a click, a script), then wait until the answer has loaded: a
    click returns before the browser has left the old page."""
    driver.execute_script("window.__before_submit = true;")
    do()
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "return window.__before_submit === undefined && document.readyState === 'complete';"
        )
    )


def sign_in(
    driver: webdriver.Chrome, url: str, address: str, password: str = PASSWORD, go: bool = True
) -> None:
    """Sign in on the sign-in page (``go``: open it first; else the browser is on it)."""
    if go:
        driver.get(url + "/login")
    driver.find_element(By.NAME, "address").send_keys(address)
    driver.find_element(By.NAME, "password").send_keys(password)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form.login button").click)


def text(driver: webdriver.Chrome, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def post_form(driver: webdriver.Chrome, path: str, fields: dict[str, str]) -> None:
    """Submit a form made in the signed-in page (a forged one, or one without its token): the
    page's CSP lets scripts make no requests, but a form may post to its own site."""
    submit(
        driver,
        lambda: driver.execute_script(
            "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];"
            "for (const [k, v] of Object.entries(arguments[1])) {"
            " const i = document.createElement('input');"
            " i.type = 'hidden'; i.name = k; i.value = v;"
            " f.appendChild(i); }"
            "document.body.appendChild(f); f.submit();",
            path,
            fields,
        ),
    )
