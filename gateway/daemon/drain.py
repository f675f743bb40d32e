"""One drain of the outbox: its due rows, a page at a time, shared by the connections to the
relay that send them ("lanes"), and the "sent" marks committed behind the sends.

Whatever the number of connections, at most :data:`UNMARKED_MAX` mails are ever being sent, or
sent and not yet marked: what a crash could send twice.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from gateway.core.log import event
from gateway.daemon import relay
from gateway.daemon.relay import RELAY_ERRORS, classify_error
from gateway.store import Db, Store
from gateway.store.outbox import OutboxRow

if TYPE_CHECKING:
    from gateway.daemon.sender import Sender

log = logging.getLogger("gateway.sender")

T = TypeVar("T")

PAGE = 50  # rows read per query: bounds the memory a backlog of large mails can take
# Mails being sent or accepted by the relay whose "sent" is not yet committed, at most, over all
# connections: a crash resends at most these (each once, the same bytes: its Message-ID lets a
# client drop the copy).
UNMARKED_MAX = 4
# After a relay refuses a further connection, drains open no more than it took for this long:
# no connection asked for only to be refused (and logged) at every drain of a backlog.
FEWER_FOR = timedelta(minutes=10)


async def on_relay(smtp: smtplib.SMTP, call: Callable[[], T]) -> T:
    """``call`` (a blocking conversation with the relay) in a worker thread. Cancelled (a stop
    that would not wait), the call in progress is interrupted and waited for, so nothing else
    ever uses the connection at the same time."""
    running: asyncio.Future[T] = asyncio.ensure_future(asyncio.to_thread(call))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        relay.interrupt(smtp)
        await asyncio.wait([running])
        if not running.cancelled():
            running.exception()  # its outcome is moot once we are cancelled
        raise


class Marks:
    """ "Sent" marks committed behind the sends, several in one transaction when they queue; and
    the places of :data:`UNMARKED_MAX` that the connections share."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Each mark, and what to do once it is committed (count it, log it).
        self.jobs: list[tuple[Callable[[Db], None], Callable[[], None]]] = []
        self.flushing: asyncio.Task[None] | None = None
        self.taken = 0  # mails being sent, or sent and not yet committed
        self.freed = asyncio.Event()

    async def room(self, count: int) -> None:
        """Take ``count`` places, once free (a failed commit is raised here: it ends the drain,
        and its mails go again)."""
        while True:
            if self.flushing is not None and self.flushing.done():
                self.flushing.result()
            if self.taken + count <= UNMARKED_MAX:
                self.taken += count
                return
            self.freed.clear()
            await self.freed.wait()

    def give_back(self, count: int) -> None:
        """The places of mails the relay did not take."""
        self.taken -= count
        self.freed.set()

    def add(self, job: Callable[[Db], None], after: Callable[[], None]) -> None:
        """The mark of a mail the relay took (its place is freed once it is committed)."""
        self.jobs.append((job, after))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        try:
            while self.jobs:
                jobs, self.jobs = self.jobs, []
                await self.store.run(partial(_run_all, [job for job, _ in jobs]))
                self.taken -= len(jobs)
                for _, done in jobs:
                    done()
                self.freed.set()
        finally:
            self.freed.set()  # (a failed commit: those waiting for room raise it)

    async def wait(self) -> None:
        """Until every mark so far is committed (a failed commit is raised here)."""
        while self.flushing is not None and not self.flushing.done():
            await asyncio.shield(self.flushing)  # a stop does not abandon a commit
        if self.flushing is not None:
            self.flushing.result()


def _run_all(jobs: list[Callable[[Db], None]], db: Db) -> None:
    for job in jobs:
        job(db)


class Drain:
    """One drain's due rows, a page at a time, shared by its connections ("lanes"): each takes
    the next run of rows, so a mail goes once whichever connection takes it."""

    def __init__(
        self,
        sender: Sender,
        rows: list[OutboxRow],
        blocked: dict[str, str],
        unsent: set[int],
        stopping: asyncio.Event | None,
    ) -> None:
        self.sender = sender
        self.queue = list(rows)
        # Recipients that must get no mail now, of every page so far: one dict, added to, so a
        # run being taken while another connection reads the next page sees its rows' too.
        self.blocked = blocked
        self.unsent = unsent
        self.stopping = stopping
        self.after = rows[-1].id if rows else 0
        self.more = len(rows) == PAGE  # a next page may follow
        self.paging = asyncio.Lock()
        self.connecting = asyncio.Lock()  # one new connection at a time (a token is shared)
        self.open = 1  # connections opened
        self.marks = Marks(sender.store)
        self.most = sender.connections()  # connections this drain may open
        # Mails a call to a connection's thread sends: a hand-off between threads costs more
        # CPU than a small mail's conversation with the relay, and their marks share a commit.
        # The places are shared by the connections (all four over one, when the relay takes
        # only one).
        self.run = max(1, UNMARKED_MAX // self.most)
        self.sent = 0

    async def send(self, smtp: smtplib.SMTP, secret: str) -> int:
        """Send every row over ``smtp`` and, while more than one run waits, over up to
        ``smtp.connections`` in all; how many were sent."""
        lanes = [asyncio.ensure_future(self.lane(smtp))]
        if self.waiting():
            more = range(self.most - 1)
            lanes += [asyncio.ensure_future(self.extra_lane(secret)) for _ in more]
        try:
            for lane in asyncio.as_completed(lanes):
                await lane
        except BaseException:  # one lane failed (or we are stopped): the others end too
            for lane in lanes:
                lane.cancel()
            await asyncio.wait(lanes)
            raise
        finally:
            await self.marks.wait()
        return self.sent

    def waiting(self) -> bool:
        return len(self.queue) > self.run or self.more

    async def _next_page(self) -> bool:
        """Whether rows wait in the queue, reading the next page when it is empty."""
        async with self.paging:
            if self.queue or not self.more:
                return bool(self.queue)
            page = partial(self.sender.page, after=self.after)
            rows, blocked = await self.sender.store.run(page)
            self.blocked.update(blocked)
            self.unsent.update(row.id for row in rows)
            self.queue += rows
            self.more = len(rows) == PAGE
            self.after = rows[-1].id if rows else self.after
            return bool(rows)

    async def lane(self, smtp: smtplib.SMTP) -> None:
        """Send runs over ``smtp`` until no row waits, a stop, or the connection is lost (the
        rest go over the other connections, or wait for the next pass); then close it."""
        sender = self.sender
        try:
            while await self._next_page():
                if self.stopping is not None and self.stopping.is_set():
                    return  # finish the sends in hand, start no new one
                run = await sender.next_run(self.queue, self.blocked, self.unsent, self.run)
                if run:
                    await self.marks.room(len(run))
                    sent = await sender.send(smtp, run, self.marks, self.stopping, self.unsent)
                    self.sent += sent
                if not relay.connected(smtp):
                    return
        finally:
            if relay.connected(smtp):
                await on_relay(smtp, partial(relay.quit, smtp))

    async def extra_lane(self, secret: str) -> None:
        """One more connection while rows wait. The relay may refuse it (a limit on
        connections): those open go on, nothing is lost, and for a while no drain asks for
        more than the relay took."""
        cfg = self.sender.cfg
        async with self.connecting:
            if not self.waiting() or self.open >= self.sender.connections():
                return
            try:
                smtp = await asyncio.to_thread(relay.connect, cfg, secret, self.sender.tokens)
            except Exception as exc:
                failure = classify_error(exc) if isinstance(exc, RELAY_ERRORS) else None
                self.sender.refused_after(self.open)
                event(
                    log,
                    "relay-connection-refused",
                    logging.INFO,
                    error=failure.text if failure else f"{type(exc).__name__}: {exc}",
                    note=f"at most {self.open} connection{'s' if self.open > 1 else ''}"
                    f" for {FEWER_FOR.seconds // 60} minutes",
                )
                return
            self.open += 1
        await self.lane(smtp)
