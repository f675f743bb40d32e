"""A step-by-step harness: the gateway's components run one pass at a time (no background
loops) against a real SQLite file and a real SMTP socket (the sink), on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.clock import FakeClock
from gateway.processor import Processor
from gateway.scheduler import Scheduler
from gateway.sender import Sender
from gateway.sink import Received, SmtpSink
from gateway.store import Store, inbox


@dataclass
class Harness:
    store: Store
    clock: FakeClock
    sink: SmtpSink
    processor: Processor
    scheduler: Scheduler
    sender: Sender

    async def receive(self, raw: bytes) -> None:
        now = self.clock.now()
        async with self.store.transaction() as db:
            await inbox.store_raw(db, raw, now, now, source="test")
        await self.processor.process_pending()
        await self.sender.drain()

    async def later(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.scheduler.tick()
        await self.sender.drain()

    async def scalar(self, sql: str) -> object:
        async with self.store.transaction() as db:
            row = await (await db.execute(sql)).fetchone()
        return row[0] if row else None

    def to(self, address: str) -> list[Received]:
        return [m for m in self.sink.messages if m["To"] == address]
