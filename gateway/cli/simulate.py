"""``support-gateway simulate``: a year of synthetic support traffic through the real pipeline
and scheduler on a fake clock, to see which dates a policy keeps and what it costs.

The world (all drawn from one seeded random generator, so a run can be repeated):
- customers write more on Monday mornings than on Friday afternoons and more late in a quarter
  than early (25% above and below the mean), a fifth of them outside open hours (evenings,
  weekends, holidays: they do not know our calendar); on a dozen incident days a year a burst
  triples the rate for three hours;
- each SE works in open hours on days they are not on leave (a few blocks a year, written into
  ``people[].away`` as ops would), one thing at a time: the reply promised soonest first, a fix
  when no reply waits (fixes are due by the resolution target, never promised): a reply takes
  a lognormal time (median ``reply_minutes``), a fix (needed by ``needs_fix_share`` of tickets)
  a longer one after some business hours of investigation; the fix's reply resolves the ticket;
- a quarter of customers ask something more after the first answer; a few tickets are urgent.
The SEs' mail goes through the relay address like anyone's. The figures come from the ledger
at the end: the share of dates we gave that were kept, revised dates per 100 tickets, the
acknowledgement, first reply and resolution within their targets, and how long, in business
hours, the first reply dates we gave were (median): a policy could keep every date by
promising next month, and this column shows it does not.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from gateway.cli.options import EXIT_CONFIG, problems
from gateway.cli.simulate_world import Figures, Traffic, World
from gateway.core.config import Config
from gateway.store import outcomes


async def simulate(
    base: dict[str, Any],
    traffic: Traffic,
    team_sizes: Sequence[int],
    days: int,
    seed: int,
    start: date,
    jobs: int = 1,
) -> list[Figures]:
    """Each team size under the fixed policy and the capacity-aware one, on the same traffic."""
    runs = [(ses, capacity) for ses in team_sizes for capacity in (False, True)]
    with tempfile.TemporaryDirectory(prefix="sgw-simulate-") as tmp:
        if jobs <= 1 or len(runs) == 1:
            return [
                await _one(base, traffic, ses, cap, start, days, seed, tmp) for ses, cap in runs
            ]
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(jobs) as pool:
            futures = [
                loop.run_in_executor(
                    pool, _one_sync, base, traffic, ses, cap, start, days, seed, tmp
                )
                for ses, cap in runs
            ]
            return list(await asyncio.gather(*futures))


async def _one(
    base: dict[str, Any],
    traffic: Traffic,
    ses: int,
    capacity: bool,
    start: date,
    days: int,
    seed: int,
    tmp: str,
) -> Figures:
    name = "capacity" if capacity else "fixed"
    world = World(
        base, traffic, ses, capacity, start, days, seed, str(Path(tmp) / f"{name}-{ses}.db")
    )
    await world.run()
    return await figures(world, name)


def _one_sync(*args: Any) -> Figures:
    """One run in a worker process (each run is its own database and clock)."""
    return asyncio.run(_one(*args))


COLUMNS = (
    ("policy", "policy", "{}"),
    ("SEs", "ses", "{}"),
    ("tickets", "tickets", "{}"),
    ("dates", "dates_given", "{}"),
    ("kept", "kept", "{:.1%}"),
    ("revised/100", "revised_per_100", "{:.1f}"),
    ("ack<=1h", "ack_within_hour", "{:.1%}"),
    ("dates<=target", "first_dates_within_target", "{:.1%}"),
    ("median date (bh)", "median_promised_hours", "{:.1f}"),
    ("reply<=target", "reply_within_target", "{:.1%}"),
    ("resolved<=target", "resolved_within_target", "{:.1%}"),
)


def table(rows: Sequence[Figures]) -> str:
    """The figures side by side, one line per policy and team size."""
    cells = [[h for h, _, _ in COLUMNS]]
    cells += [[fmt.format(getattr(r, attr)) for _, attr, fmt in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def base_from(config: Config | None) -> dict[str, Any]:
    """What a run takes from the operator's config: the calendar, the SLA and the capacity
    settings (the team, accounts and traffic are the simulator's own)."""
    if config is None:
        return {}
    return config.model_dump(mode="json", include={"hours", "sla", "capacity"})


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="take hours, sla and capacity from this config file")
    parser.add_argument("--days", type=int, default=365, help="simulated days (default 365)")
    parser.add_argument("--ses", default="3,4,5", help="team sizes to compare (default 3,4,5)")
    parser.add_argument(
        "--tickets-per-day", type=float, default=19.0, help="new tickets a business day (19)"
    )
    parser.add_argument("--seed", type=int, default=1, help="the random seed (same seed, same run)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs in parallel processes (default 1)"
    )
    parser.add_argument(
        "--start", type=date.fromisoformat, default=date(2026, 1, 5), help="the first day"
    )


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from dataclasses import replace

    from gateway.core.config import ConfigError, load_config

    try:
        config = load_config(args.config) if args.config else None
        sizes = [int(x) for x in args.ses.split(",") if x.strip()]
    except ConfigError as exc:
        return problems(args.config, "invalid configuration", exc.problems)
    except ValueError:
        print(f"--ses: team sizes like 3,4,5, not {args.ses!r}", file=sys.stderr)
        return EXIT_CONFIG
    traffic = replace(Traffic(), tickets_per_day=args.tickets_per_day)
    rows = asyncio.run(
        simulate(base_from(config), traffic, sizes, args.days, args.seed, args.start, args.jobs)
    )
    print(table(rows))
    return 0


async def figures(world: World, policy: str) -> Figures:
    await world.store.start()
    try:
        given = await world.store.run(outcomes.dates_given)
        times = await world.store.run(outcomes.ticket_times)
    finally:
        await world.store.stop()
    now = world.clock.now()
    came_due = [g for g in given if g.met is not None or g.missed is not None or g.due < now]
    kept = [g for g in came_due if g.met is not None and g.met <= g.due]
    cal, policy_of = world.cal, world.s.policy
    plans = [policy_of.plan(t.received) for t in times]
    hour = timedelta(hours=1)
    promised = [
        cal.business_time_between(t.received, t.first_reply_due) / hour
        for t in times
        if t.first_reply_due
    ]
    return Figures(
        policy=policy,
        ses=len(world.team),
        tickets=len(times),
        dates_given=len(given),
        kept=_share(len(kept), len(came_due)),
        revised_per_100=100 * sum(g.revision for g in given) / max(1, len(times)),
        ack_within_hour=_share(
            sum(1 for t in times if t.acknowledged and t.acknowledged - t.received <= hour),
            len(times),
        ),
        reply_within_target=_share(
            sum(
                1
                for t, p in zip(times, plans, strict=True)
                if t.first_reply and t.first_reply <= p.actionable_due
            ),
            len(times),
        ),
        resolved_within_target=_share(
            sum(
                1
                for t, p in zip(times, plans, strict=True)
                if t.resolved and t.resolved <= p.resolution_due
            ),
            len(times),
        ),
        first_dates_within_target=_share(
            sum(
                1
                for t, p in zip(times, plans, strict=True)
                if t.first_reply_due and t.first_reply_due <= p.actionable_due
            ),
            len(times),
        ),
        median_promised_hours=statistics.median(promised) if promised else 0.0,
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0
