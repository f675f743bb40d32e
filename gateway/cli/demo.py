"""``support-gateway demo``: the whole story on one machine, with nothing but the install.

An embedded SMTP ingress takes the customer's mail (as an MTA would push it), an SMTP sink plays
the relay, a temporary database holds the state, and the story moves the clock: a customer
writes on a Monday morning and is acknowledged with dates in the same minute, the SE and SC get
their copy, the clock jumps over the hours nobody acts, the SE is warned two business hours
before the reply date, and shortly before it would pass unmet the customer gets a revised date
without having to ask. Every time printed is the
gateway's own clock, so the story, the dates and the mails agree; every port is a free one.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import http.cookiejar
import re
import secrets
import socket
import tempfile
import textwrap
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiosmtplib

from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import parse_config
from gateway.daemon.app import Gateway
from gateway.promise.words import when
from gateway.store import commitments, inbox, outbox, tickets
from gateway.store import web as web_store
from gateway.web.auth import hash_password

if TYPE_CHECKING:
    from gateway.core.config import Config

FIRST_MAIL_SECONDS = 20.0  # real time for the acknowledgement and the SE copy to arrive
STEP = timedelta(minutes=1)  # the clock's steps as a date draws near
START = datetime(2026, 11, 23, 10, 15, tzinfo=ZoneInfo("America/New_York"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_config(tmp: Path, sink_port: int, ingress_port: int) -> dict[str, object]:
    return {
        "support": {"address": "support@example.com", "display_name": "Example Support"},
        "imap": {"enabled": False},
        "ingress": {"enabled": True, "protocol": "smtp", "port": ingress_port},
        "smtp": {"host": "127.0.0.1", "port": sink_port, "tls": "none"},
        "database": {"path": str(tmp / "gateway.db")},
        "scheduler": {"tick_seconds": 0.05},
        "web": {"port": 0},
        "metrics": {"port": 0},  # never the real daemon's 9464
        "people": [
            {"name": "Sam Engineer", "address": "sam@example.com", "role": "se"},
            {"name": "Dana Default", "address": "dana@example.com", "role": "se"},
            {"name": "Casey Consultant", "address": "casey@example.com", "role": "sc"},
        ],
        "routing": {"default_se": "dana@example.com"},
        "accounts": [
            {
                "name": "Acme",
                "domains": ["acme.example"],
                "se": "sam@example.com",
                "sc": "casey@example.com",
            },
        ],
    }


def _say(clock: FakeClock, text: str) -> None:
    stamp = when(clock.now(), ZoneInfo("America/New_York"))
    print(f"\n[{stamp}] {text}")


def _show(m: Received, body: bool = True) -> None:
    for h in ("From", "To", "Cc", "Subject", "In-Reply-To", "Auto-Submitted"):
        if m[h]:
            print(f"    {h}: {m[h]}")
    if body:
        print(textwrap.indent(m.text().strip(), "    | ", lambda _line: True))


async def run_demo() -> int:
    clock = FakeClock(START)
    sink = SmtpSink()
    await sink.start()
    with tempfile.TemporaryDirectory(prefix="support-gateway-demo-") as tmp:
        config = parse_config(demo_config(Path(tmp), sink.port, _free_port()))
        gateway = Gateway(config, clock)
        await gateway.start()
        try:
            return await _story(gateway, clock, sink)
        except AssertionError as exc:  # the story stopped: say why, from the gateway's record
            print(f"\nThe story stopped: {exc}")
            await _diagnose(gateway)
            return 1
        finally:
            await gateway.stop()
            await sink.stop()


async def _diagnose(gateway: Gateway) -> None:
    received = await gateway.store.run(inbox.outcomes)
    stuck = await gateway.store.run(outbox.troubles)
    if not received:
        print("  No mail reached the gateway's inbox.")
    for inbox_id, state, action, why in received:
        first = why.strip().splitlines()[0] if why.strip() else ""
        last = why.strip().splitlines()[-1] if why.strip() else ""
        print(f"  message {inbox_id}: {state} {action}".rstrip() + f": {first}")
        if last and last != first:
            print(f"    {last}")
    for outbox_id, kind, state, error in stuck:
        print(f"  outgoing {outbox_id} ({kind}): {state}: {error}")
    if gateway.processor.last_error:
        print(f"  last internal error: {gateway.processor.last_error}")


async def _web_view(gateway: Gateway, clock: FakeClock, key: str) -> None:
    """Casey, the SC, signs in to the web view and reads the ticket's dates and story."""
    address, password = "casey@example.com", secrets.token_urlsafe(16)
    hashed, now = hash_password(password), clock.now()
    await gateway.store.run(lambda db: web_store.set_password_hash(db, address, hashed, now))
    url = f"http://127.0.0.1:{gateway.web_port}"
    page = await asyncio.to_thread(_signed_in_get, url, address, password, f"/tickets/{key}")
    _say(clock, f"Casey (the SC) signs in to the web view and opens {key}:")
    state = re.search(r'id="state">([^<]*)<', page)
    print(f"    state: {state.group(1) if state else '?'}")
    for row in re.findall(r'<tr class="fate-[^"]*">(.*?)</tr>', page, re.S):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        print(f"    date: {cells[0]}: due {cells[1]}: {cells[5]}")
    heads = re.findall(
        r'<span class="when">([^<]*)</span>\s*<span class="dir">([^<]*)</span>'
        r'\s*<span class="kind">([^<]*)</span>',
        page,
    )
    for when_, direction, kind in heads:
        print(f"    story: {when_}  {direction:3}  {kind}")


def _signed_in_get(url: str, address: str, password: str, path: str) -> str:
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(url + "/login", timeout=30) as r:
        token = re.search(r'name="csrf" value="([^"]+)"', r.read().decode())
    assert token, "the sign-in page has no form"
    form = {"csrf": token.group(1), "address": address, "password": password, "next": path}
    with browser.open(url + "/login", urllib.parse.urlencode(form).encode(), timeout=30) as r:
        body: str = r.read().decode()
    assert 'id="timeline"' in body, "the ticket's page did not open after signing in"
    return body


async def _until(gateway: Gateway, clock: FakeClock, sink: SmtpSink, *kinds: str) -> None:
    """Move the clock a minute at a time (the scheduler looks at each) until a mail of each of
    ``kinds`` has reached the relay (others may come too: the SC's digest, say)."""
    for _ in range(24 * 60):
        if all(any(m["X-Support-Kind"] == k for m in sink.messages) for k in kinds):
            return
        clock.advance(STEP)
        await asyncio.sleep(0.1)  # two of the scheduler's ticks
    raise AssertionError(f"no {' and '.join(kinds)} mail came in a day")


async def _story(gateway: Gateway, clock: FakeClock, sink: SmtpSink) -> int:
    print("support-gateway demo: one customer mail, from arrival to a revised ETA.")
    print("(the clock jumps over the hours nobody acts; every time shown is the gateway's)")
    customer = EmailMessage()
    customer["From"] = "Jane Customer <jane@acme.example>"
    customer["To"] = "support@example.com"
    customer["Subject"] = "Exports fail since this morning"
    customer["Message-ID"] = "<demo-1@acme.example>"
    customer["Date"] = "Mon, 23 Nov 2026 16:15:00 +0100"
    customer.set_content("Hello,\n\nOur nightly export fails with error E42. Can you help?\n\nJane")
    _say(clock, "Jane (Acme, writing from UTC+01:00) emails support@example.com:")
    print(textwrap.indent(customer.get_content().strip(), "    | ", lambda _line: True))
    assert gateway.ingress is not None
    await aiosmtplib.send(customer, hostname="127.0.0.1", port=gateway.ingress.port)

    await sink.wait_for(2, timeout=FIRST_MAIL_SECONDS)
    ack = next(
        m for m in sink.messages if m["X-Support-Ticket"] and m["Auto-Submitted"] == "auto-replied"
    )
    copy = next(m for m in sink.messages if m is not ack)
    _say(clock, "The gateway acknowledges at once, with dates it can keep:")
    _show(ack)
    _say(clock, "The account's SE gets the thread, with the SC in CC (original attached):")
    _show(copy, body=False)

    key = ack["X-Support-Ticket"]
    ticket = await gateway.store.run(lambda db: tickets.by_key(db, key))
    assert ticket is not None, f"no ticket {key}"
    due = await gateway.store.run(lambda db: commitments.owed_of(db, ticket.id))
    assert due is not None, "no reply date stands"
    sla = gateway.config.sla
    zone = ZoneInfo(gateway.config.hours.timezone)
    _say(clock, "Nobody replies. Time passes...")
    # The quiet hours in one jump, then minute by minute: first the SE's warning...
    warn = timedelta(minutes=sla.warn_before_minutes)
    clock.set(due - warn - 5 * STEP)
    await _until(gateway, clock, sink, "due-soon")
    warning = next(m for m in sink.messages if m["X-Support-Kind"] == "due-soon")
    _say(
        clock, f"{sla.warn_before_minutes // 60} business hours before the date, the SE is warned:"
    )
    _show(warning)
    # ...then, if they still do not answer, the customer's new date before the old one passes.
    clock.set(due - timedelta(minutes=sla.revise_before_minutes) - 5 * STEP)
    await _until(gateway, clock, sink, "revised-eta", "missed-alert")
    revised = next(m for m in sink.messages if m["X-Support-Kind"] == "revised-eta")
    alert = next(m for m in sink.messages if m["X-Support-Kind"] == "missed-alert")
    minutes = round((due - clock.now()).total_seconds() / 60)
    _say(
        clock,
        f"The reply date ({when(due, zone)}) would pass unmet in {minutes} minutes: the"
        " customer hears from us before chasing, and before it passes:",
    )
    _show(revised)
    _say(clock, "And the SE (SC in CC) is alerted:")
    _show(alert, body=False)
    digests = [m for m in sink.messages if m["X-Support-Kind"] == "sc-digest"]
    if digests:
        _say(clock, "Casey (the SC) had her accounts' digest at the start of her day:")
        _show(digests[-1])
    await _web_view(gateway, clock, key)
    # (the SC's digests: one each morning, and on Monday one once the daemon first runs, if
    # that was after Jane's mail: not counted, so the story's figures do not depend on it)
    print(
        f"\nDone: {len(sink.messages) - len(digests)} mails sent; 1 acknowledgement, 1 SE copy,"
        " 1 warning, 1 revised ETA, 1 alert; and the SC's digest each morning."
    )
    return 0


def arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    return asyncio.run(run_demo())
