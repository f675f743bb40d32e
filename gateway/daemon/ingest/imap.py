"""IMAP ingest: store new mail durably, then (after processing commits) move it on the server.

imapclient is blocking, so every call runs in a worker thread (``asyncio.to_thread``) on this
component's own connection, one call at a time. The order of events for each message is:

1. FETCH ``BODY.PEEK[]`` and ``INTERNALDATE`` (the server's received time, never ``Date:``);
2. in one transaction: insert the raw bytes and advance the cursor of (mailbox, UIDVALIDITY);
3. the processor runs the pipeline (its own transaction);
4. only then: MOVE to the processed folder (or COPY + \\Deleted + EXPUNGE, or \\Seen), and mark
   the row disposed. A crash before 4 repeats only the move, which is idempotent.

On the first start for a mailbox the cursor is set to the mailbox's current end, so old mail gets
no surprise acknowledgement; ``backfill_since`` asks for mail since a date instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import imapclient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from gateway.core.clock import Clock
from gateway.core.config import ImapSection, TlsMode, tls_context
from gateway.core.log import event
from gateway.core.models import InboxState
from gateway.core.waits import backoff, wait_any
from gateway.daemon import oauth2
from gateway.daemon.ingest.quirks import announced_new_mail, read_ahead
from gateway.daemon.oauth2 import TokenSource
from gateway.mail import conversation
from gateway.store import Db, Store, inbox
from gateway.store.db import database_errors, transient

log = logging.getLogger("gateway.imap")

# Seconds handled mail may wait in the inbox to be moved, so that the moves of a backlog share
# passes: each pass (move, SEARCH, IDLE and DONE, their records) is some eight hand-offs
# between threads, which cost more CPU than the moves. Also how often IDLE looks at a stop.
MOVE_AFTER = 1.0

# What a dropped or refused connection looks like from imapclient.
CONNECTION_ERRORS = (
    IMAPClientError,
    OSError,
    socket.timeout,
    ssl.SSLError,
    EOFError,
    oauth2.TokenRefused,
)


def open_client(cfg: ImapSection, tokens: TokenSource | None = None) -> imapclient.IMAPClient:
    """Connect and log in (blocking). The secret is read now and never logged. With XOAUTH2 a
    refused token is fetched again from its source and tried once more (``tokens`` keeps it
    between logins)."""
    context = tls_context(cfg.tls_verify)
    client = imapclient.IMAPClient(
        cfg.host,
        port=cfg.port,
        ssl=cfg.tls is TlsMode.TLS,
        ssl_context=context,
        timeout=cfg.timeout_seconds,
        use_uid=True,
    )
    try:
        if cfg.tls is TlsMode.STARTTLS:
            client.starttls(context)
        if cfg.auth == "xoauth2":
            oauth2.login(
                tokens or TokenSource(cfg.oauth2_token),
                partial(client.oauth2_login, cfg.user),
                (LoginError,),
                f"IMAP server {cfg.host}",
                cfg.user,
            )
        else:
            client.login(cfg.user, cfg.password.read().get_secret_value())
    except BaseException:
        _close(client)
        raise
    client.normalise_times = False  # INTERNALDATE stays timezone-aware
    return client


def _close(client: imapclient.IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # closing a broken connection may fail in many ways; it is closed anyway
        with contextlib.suppress(Exception):
            client.shutdown()


class ImapIngest:
    def __init__(
        self,
        store: Store,
        cfg: ImapSection,
        clock: Clock,
        on_stored: Callable[[], None] = lambda: None,
        backfill_since: date | None = None,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.clock = clock
        self.on_stored = on_stored
        self.backfill_since = backfill_since
        self.kick = asyncio.Event()  # set when handled mail waits to be moved
        self.connected = asyncio.Event()
        self.stored = 0
        self.sessions = 0  # successful logins so far (reconnects show here)
        # A database error of ours (not an outage) on the last try to store mail: /healthz
        # says degraded until mail is stored again.
        self.failing = ""
        self._client: imapclient.IMAPClient | None = None
        self._uidvalidity = 0
        self.tokens = TokenSource(cfg.oauth2_token)  # kept between logins (XOAUTH2)

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        failures = 0
        while not stopping.is_set():
            try:
                await self._session(stopping)
                await self._disconnect(clean=True)
                failures = 0
            except (*CONNECTION_ERRORS, *database_errors()) as exc:
                # Database trouble (locked, read-only, disk full) is retried like an outage:
                # nothing was stored, so the cursor did not move and the mail is fetched again.
                # A query of ours the database rejects is retried too (nothing is lost), but
                # logged as the error it is, not as weather.
                await self._disconnect(clean=False)
                failures += 1
                delay = backoff(
                    failures, self.cfg.backoff_initial_seconds, self.cfg.backoff_max_seconds
                )
                database = isinstance(exc, database_errors())
                if database and not transient(exc):
                    self.failing = f"{type(exc).__name__}: {exc}"
                event(
                    log,
                    "database-error" if database else "imap-down",
                    logging.ERROR if database and not transient(exc) else logging.WARNING,
                    host=self.cfg.host,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in=round(delay, 1),
                )
                await wait_any(stopping, timeout=delay)
            except BaseException:
                await self._disconnect(clean=False)
                raise

    async def _session(self, stopping: asyncio.Event) -> None:
        client: imapclient.IMAPClient = await asyncio.to_thread(open_client, self.cfg, self.tokens)
        self._client = client
        await asyncio.to_thread(self._prepare_folders, client)
        selected = await asyncio.to_thread(client.select_folder, self.cfg.inbox)
        self._uidvalidity = int(selected[b"UIDVALIDITY"])
        uidnext = int(selected.get(b"UIDNEXT", 1))
        can_idle = self.cfg.idle and client.has_capability("IDLE")
        self.sessions += 1
        self.connected.set()
        event(
            log,
            "imap-up",
            host=self.cfg.host,
            mailbox=self.cfg.inbox,
            uidvalidity=self._uidvalidity,
            idle=can_idle,
        )
        await self._init_cursor(client, uidnext)
        while not stopping.is_set():
            await self._dispose(client)
            if await self._fetch_new(client) or announced_new_mail(client):
                continue
            if can_idle:
                await self._idle(client, stopping)
            else:
                await wait_any(stopping, self.kick, timeout=self.cfg.poll_seconds)
                if self.kick.is_set():  # handled mail waits a little, to move with the next
                    await wait_any(stopping, timeout=MOVE_AFTER)
            self.kick.clear()
        await self._dispose(client)

    async def _disconnect(self, clean: bool) -> None:
        """LOGOUT after a clean session; after an error just drop the socket (no waiting)."""
        self.connected.clear()
        if self._client is not None:
            client, self._client = self._client, None
            if clean:
                await asyncio.to_thread(_close, client)
            else:
                with contextlib.suppress(Exception):
                    client.shutdown()

    def _prepare_folders(self, client: imapclient.IMAPClient) -> None:
        for folder in (self.cfg.processed_folder, self.cfg.quarantine_folder):
            if folder and not client.folder_exists(folder):
                client.create_folder(folder)

    # -- cursor and fetching -----------------------------------------------------------------

    async def _init_cursor(self, client: imapclient.IMAPClient, uidnext: int) -> None:
        mailbox, uv = self.cfg.inbox, self._uidvalidity

        def job(db: Db) -> tuple[int, bool] | None:
            if inbox.get_cursor(db, mailbox, uv) is not None:
                return None
            # First start: begin at the end. A new UIDVALIDITY on a mailbox we knew means
            # every UID changed: take everything (duplicates are caught by Message-ID).
            known_mailbox = inbox.has_any_cursor(db, mailbox)
            start = 0 if known_mailbox else uidnext - 1
            inbox.set_cursor(db, mailbox, uv, start)
            return start, known_mailbox

        if (started := await self.store.run(job)) is not None:
            start, known_mailbox = started
            event(
                log,
                "imap-cursor",
                mailbox=mailbox,
                uidvalidity=uv,
                start=start,
                reason="uidvalidity changed" if known_mailbox else "first start",
            )
        if self.backfill_since is not None:
            since, self.backfill_since = self.backfill_since, None
            uids = await asyncio.to_thread(client.search, ["SINCE", since])
            await self._fetch_store(client, sorted(int(u) for u in uids), advance_cursor=False)
            event(log, "imap-backfill", since=since.isoformat(), messages=len(uids))

    async def _fetch_new(self, client: imapclient.IMAPClient) -> int:
        mailbox, uv = self.cfg.inbox, self._uidvalidity
        last = await self.store.run(lambda db: inbox.get_cursor(db, mailbox, uv)) or 0
        uids = await asyncio.to_thread(client.search, ["UID", f"{last + 1}:*"])
        # "n:*" always matches the last message, even when its UID is below n.
        fresh = sorted(int(u) for u in uids if int(u) > last)
        return await self._fetch_store(client, fresh, advance_cursor=True)

    async def _fetch_store(
        self, client: imapclient.IMAPClient, uids: list[int], advance_cursor: bool
    ) -> int:
        stored = 0
        for i in range(0, len(uids), self.cfg.fetch_batch):
            batch = uids[i : i + self.cfg.fetch_batch]
            data: dict[int, dict[bytes, Any]] = await asyncio.to_thread(
                client.fetch, batch, ["BODY.PEEK[]", "INTERNALDATE"]
            )
            # Read outside the write transaction: the transaction only records.
            mails = await asyncio.to_thread(_all_fetched, batch, data)
            new = await self.store.run(
                partial(self._store_batch, batch, mails, self.clock.now(), advance_cursor)
            )
            stored += new
            self.stored += new
            self.failing = ""  # the store takes mail again
            self.on_stored()
        if stored:
            event(log, "imap-stored", mailbox=self.cfg.inbox, messages=stored)
        return stored

    def _store_batch(
        self,
        batch: list[int],
        mails: list[_Fetched],
        now: datetime,
        advance_cursor: bool,
        db: Db,
    ) -> int:
        """Store one fetched batch (and move the cursor past it) in one transaction; a UID of
        the batch that is not among ``mails`` was expunged between SEARCH and FETCH."""
        stored = 0
        for mail in mails:
            if inbox.store_raw(
                db,
                mail.raw,
                mail.received or now,
                now,
                source="imap",
                mailbox=self.cfg.inbox,
                uidvalidity=self._uidvalidity,
                uid=mail.uid,
                keys=mail.keys,
            ):
                stored += 1
        if advance_cursor:
            inbox.set_cursor(db, self.cfg.inbox, self._uidvalidity, batch[-1])
        return stored

    # -- waiting -----------------------------------------------------------------------------

    async def _idle(self, client: imapclient.IMAPClient, stopping: asyncio.Event) -> None:
        """IDLE until new mail, handled mail to move, stop, or the renewal time."""
        await asyncio.to_thread(client.idle)
        if await asyncio.to_thread(read_ahead, client):
            # Mail that came while we were not idling is announced with IDLE's continuation:
            # end IDLE now and search, instead of waiting for the recheck.
            await asyncio.to_thread(client.idle_done)
            return
        started = time.monotonic()  # a protocol timer, not business time
        limit = min(self.cfg.idle_renew_seconds, self.cfg.idle_recheck_seconds)
        # No try/finally: after a connection error there is no IDLE to end, and DONE would
        # only wait out the socket timeout before the reconnect.
        while not stopping.is_set():
            responses = await asyncio.to_thread(client.idle_check, MOVE_AFTER)
            if any(isinstance(r, tuple) and r[:1] == (b"BYE",) for r in responses):
                raise IMAPClientAbortError(f"server said {responses[0]!r}")
            if any(isinstance(r, tuple) and b"EXISTS" in r for r in responses):
                break
            # Handled mail to move ends IDLE at a check, never before the first: during a
            # backlog a pass then moves up to a second's mail, not one processed batch's.
            if self.kick.is_set() or time.monotonic() - started > limit:
                break
        await asyncio.to_thread(client.idle_done)

    # -- after processing ----------------------------------------------------------------------

    async def _dispose(self, client: imapclient.IMAPClient) -> None:
        mailbox = self.cfg.inbox
        rows = await self.store.run(lambda db: inbox.undisposed(db, mailbox))
        if not rows:
            return
        stale = [r[0] for r in rows if r[1] != self._uidvalidity]
        processed = [r for r in rows if r[1] == self._uidvalidity and r[3] == InboxState.PROCESSED]
        # Spam waits with the quarantine for an operator (release, or nothing).
        quarantined = [
            r
            for r in rows
            if r[1] == self._uidvalidity and r[3] in (InboxState.QUARANTINED, InboxState.SPAM)
        ]
        moves = [
            (uids, folder)
            for uids, folder in (
                ([r[2] for r in processed], self.cfg.processed_folder),
                ([r[2] for r in quarantined], self.cfg.quarantine_folder),
            )
            if uids
        ]
        if moves:  # one call to a worker thread (each costs more CPU than a MOVE)
            await asyncio.to_thread(self._move_all, client, moves)
        done = [r[0] for r in processed + quarantined] + stale
        await self.store.run(lambda db: inbox.mark_disposed(db, done))

    def _move_all(self, client: imapclient.IMAPClient, moves: list[tuple[list[int], str]]) -> None:
        for uids, folder in moves:
            self._move(client, uids, folder)

    def _move(self, client: imapclient.IMAPClient, uids: list[int], folder: str) -> None:
        if not folder:
            client.add_flags(uids, [imapclient.SEEN])
        elif client.has_capability("MOVE"):
            client.move(uids, folder)
        else:
            client.copy(uids, folder)
            client.add_flags(uids, [imapclient.DELETED])
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                client.expunge()


@dataclass(frozen=True)
class _Fetched:
    uid: int
    raw: bytes
    received: datetime | None  # the server's INTERNALDATE, when it gave one
    keys: list[int]  # its conversation keys


def _all_fetched(batch: list[int], data: dict[int, dict[bytes, Any]]) -> list[_Fetched]:
    """The batch's mails with their keys (header parsing: in a worker thread, off the loop)."""
    return [_fetched(uid, item) for uid in batch if (item := data.get(uid)) is not None]


def _fetched(uid: int, item: dict[bytes, Any]) -> _Fetched:
    raw = bytes(item.get(b"BODY[]") or b"")
    return _Fetched(uid, raw, _received(item.get(b"INTERNALDATE")), conversation.keys(raw))


def _received(internaldate: object) -> datetime | None:
    if isinstance(internaldate, datetime):
        if internaldate.tzinfo is None:
            return internaldate.replace(tzinfo=UTC)
        return internaldate.astimezone(UTC)
    return None
