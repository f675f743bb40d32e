"""The long fuzz run (``scripts/fuzz``): parse -> classify -> plan over many generated and mutated
messages. No exception may escape; every input must end processed or quarantined.

The corpus in tests/data/corpus seeds the mutations (bit flips, cuts, duplicated runs, inserted
MIME and header fragments); a share of the inputs is random bytes. The suite runs a Hypothesis
version of the same property (tests/test_loop_safety.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from gateway.core.clock import FakeClock
from gateway.core.config import parse_config
from gateway.daemon.processor import Processor
from gateway.pipeline.work import Services
from gateway.store import Store
from tests.conftest import MONDAY_10, base_config
from tests.harness import storing

CORPUS = Path(__file__).parent / "data" / "corpus"
FRAGMENTS = [
    b"\r\n",
    b"\n\n",
    b"=?utf-8?b?",
    b"=?x-unknown?q?=FF?=",
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"\x00",
    b"--x\r\n",
    b"--x--\r\n",
    b"Auto-Submitted: no\r\n",
    b"<",
    b">",
    b"\xff\xfe",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Subject: " + b"A" * 5000 + b"\r\n",
    b"From: \r\n",
    b"To: <<<@@@>>>\r\n",
    b"Message-ID: <>\r\n",
    b"In-Reply-To: <x@y>\r\n",
]


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    if rng.random() < 0.1:
        return rng.randbytes(rng.randrange(0, 2000))
    raw = bytearray(rng.choice(seeds))
    for _ in range(rng.randrange(0, 10)):
        at = rng.randrange(0, max(1, len(raw)))
        op = rng.random()
        if op < 0.3 and raw:
            raw[at] = rng.randrange(256)
        elif op < 0.5:
            del raw[at : at + rng.randrange(1, 300)]
        elif op < 0.8:
            raw[at:at] = rng.choice(FRAGMENTS)
        else:
            raw[at:at] = raw[at : at + rng.randrange(1, 400)]
    return bytes(raw)


async def run(total: int, seed: int, batch: int = 1000) -> Counter[str]:
    rng = random.Random(seed)
    seeds = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(base_config(Path(tmp)))
    outcomes: Counter[str] = Counter()
    clock = FakeClock(MONDAY_10)
    for start in range(0, total, batch):
        store = Store(":memory:")
        await store.start()
        processor = Processor(store, Services.build(config, clock))
        mails = [mutate(rng, seeds) for _ in range(min(batch, total - start))]
        await store.run(storing(mails, clock.now(), source="fuzz"))
        await processor.process_pending()  # an escaping exception ends the run here
        states = await store.run(
            lambda db: db.execute("SELECT state, count(*) FROM inbox GROUP BY state").fetchall()
        )
        for state, count in states:
            outcomes[state] += count
        await store.stop()
    return outcomes


def parser() -> argparse.ArgumentParser:
    """The command line of scripts/fuzz (the README's examples are parsed by the suite)."""
    p = argparse.ArgumentParser(description="long fuzz run of parse -> classify -> plan")
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    return p


def main() -> int:
    p = parser()
    args = p.parse_args()
    t0 = time.monotonic()
    outcomes = asyncio.run(run(args.messages, args.seed))
    secs = time.monotonic() - t0
    other = {k: v for k, v in outcomes.items() if k not in ("processed", "quarantined", "spam")}
    print(f"messages:      {sum(outcomes.values())}")
    print(f"processed:     {outcomes['processed']}")
    print(f"quarantined:   {outcomes['quarantined']}")
    print(f"other states:  {other or 0}")
    print(f"time:          {secs:.0f} s ({sum(outcomes.values()) / secs:.0f} messages/s)")
    ok = sum(outcomes.values()) == args.messages and not other
    print("verdict:       " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
