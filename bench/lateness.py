"""Escalation lateness: caseflow's durable timers, and cron pollers on the same deadlines.

Repairs are opened at a steady pace over `spread` seconds; each one's arrival is due the
policy's deadline after intake and nobody arrives, so every case breaches. caseflow escalates by
itself (a timer per case); in the same run, cron pollers (bench/baseline.py), one per interval,
each from a random phase, scan the same deadlines. Lateness = when the escalation was recorded
minus the deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bench import baseline
from bench.load import Api, spread
from bench.report import Grid, envelope, now, number, progress
from bench.stack import Stack, cpu_used
from caseflow.store.models import Escalation

COMMITMENT = "arrival"
RUNGS = 4  # the default ladder: the warning and levels 1, 2 and 3
GRACE = 30.0  # seconds an escalation may be late before the bench counts it missing


async def measure(stack: Stack, *, cases: int = 500, spread_seconds: float = 300.0,
                  intervals: tuple[float, ...] = (60.0, 300.0), seed: int | None = None,
                  meanwhile: Callable[[], Awaitable[Any]] | None = None) -> dict[str, Any]:
    """Measure; `meanwhile` runs once caseflow's escalations are all recorded, while the
    pollers are still waiting for their next scans (`make bench` fills that wait)."""
    started_at = now()
    seed = random.randrange(2 ** 32) if seed is None else seed
    result = envelope("lateness", {
        "cases": cases, "spread_seconds": spread_seconds, "deadline_seconds": stack.deadline,
        "poll_intervals_seconds": list(intervals), "seed": seed}, started_at)
    engine = stack.engine
    await asyncio.to_thread(baseline.create_tables, engine)
    rng = random.Random(seed)
    pollers = [baseline.CronPoller(engine, interval, rng) for interval in intervals]
    stop = asyncio.Event()
    polling = [asyncio.create_task(poller.run(stop)) for poller in pollers]
    due: dict[str, datetime] = {}
    refused: list[str] = []
    overlapped = 0.0
    cpu: dict[str, float] | None = None
    cpu_before = await asyncio.to_thread(stack.cpu)
    begin = time.monotonic()
    step = spread_seconds / max(cases - 1, 1)

    async with Api(stack) as api:
        async def open_one(number: int) -> None:
            await asyncio.sleep(max(0.0, begin + number * step - time.monotonic()))
            opened = await api.open_repair("general", number)
            if not opened.ok or opened.body is None:
                refused.append(f"open {opened.status}")
                return
            case_id = opened.body["case_id"]
            read = await api.case(case_id)
            if not read.ok or read.body is None:
                refused.append(f"read {read.status}")
                return
            arrival = next(c for c in read.body["commitments"] if c["key"] == COMMITMENT)
            at = datetime.fromisoformat(arrival["due_at"])
            await asyncio.to_thread(baseline.record_deadline, engine, case_id, COMMITMENT, at)
            due[case_id] = at

        progress(f"lateness: opening {cases} repairs over {spread_seconds:g} s, pollers every "
                 f"{', '.join(f'{i:g}' for i in intervals)} s")
        await asyncio.gather(*(open_one(n) for n in range(cases)))
    opened_by = time.monotonic()
    progress("lateness: all opened; waiting for caseflow's escalations and the pollers' scans")

    # Wait for every rung of caseflow (the last, level 3, comes at 2.5 times the deadline) and
    # for each poller's scan after the last deadline; stop waiting once each is surely late.
    last_due = max(due.values(), default=now())
    left = (last_due - now()).total_seconds()
    caseflow_until = time.monotonic() + left + stack.deadline * 1.5 + GRACE
    poll_until = {p.name: time.monotonic() + left + p.interval + GRACE for p in pollers}
    while True:
        rungs = await asyncio.to_thread(recorded_rungs, stack, list(due))
        caseflow_done = len(rungs) >= RUNGS * len(due) or time.monotonic() > caseflow_until
        if caseflow_done and cpu is None:
            cpu = await asyncio.to_thread(stack.cpu)
        if caseflow_done and meanwhile is not None:
            progress("lateness: caseflow's escalations recorded; the next benchmarks run while "
                     "the pollers wait")
            caseflow_at = time.monotonic()
            await meanwhile()
            meanwhile, overlapped = None, round(time.monotonic() - caseflow_at, 1)
        counts = {p.name: await asyncio.to_thread(p.escalated) for p in pollers}
        pollers_done = all(counts[p.name] >= len(due) or time.monotonic() > poll_until[p.name]
                           for p in pollers)
        if caseflow_done and pollers_done:
            break
        stack.check()
        for task in polling:
            if task.done():
                task.result()  # a poller that failed stops the run with its error
        await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*polling)

    breaches = [r for r in rungs if r["level"] == 1]
    recorded = [(r["recorded_at"] - r["scheduled_at"]).total_seconds() for r in breaches]
    systems = [{"system": "caseflow", "how": "a durable timer per case (Temporal)",
                "escalated": len(breaches), "missing": len(due) - len(breaches),
                "lateness_seconds": spread(recorded)}]
    for poller in pollers:
        late = await asyncio.to_thread(poller.lateness)
        systems.append({"system": f"cron poll every {poller.interval:g} s",
                        "how": "scan the database on a fixed schedule (bench/baseline.py)",
                        "phase_seconds": round(poller.phase, 1), "scans": poller.scans,
                        "escalated": len(late), "missing": len(due) - len(late),
                        "lateness_seconds": spread(late)})
    ours = systems[0]["lateness_seconds"]
    result.update({
        "systems": systems,
        "times_later_than_caseflow": {
            s["system"]: {q: _ratio(s["lateness_seconds"][q], ours[q]) for q in ("p50", "p99")}
            for s in systems[1:]},
        "caseflow_every_rung_lateness_seconds": spread(
            (r["recorded_at"] - r["scheduled_at"]).total_seconds() for r in rungs),
        "caseflow_timer_wakeup_seconds": spread(
            (r["fired_at"] - r["scheduled_at"]).total_seconds() for r in breaches),
        "deadline_disagreements": sum(
            abs((r["scheduled_at"] - due[r["case_id"]]).total_seconds()) > 0.001
            for r in breaches),
        "refused_intakes": len(refused),
        "refused": dict(Counter(refused)),
        # From the first intake until caseflow's last rung was recorded.
        "cpu_seconds": cpu_used(cpu_before, cpu or await asyncio.to_thread(stack.cpu)),
        "opening_seconds": round(opened_by - begin, 1),
        # Seconds other benchmarks ran on this stack while the pollers waited (`make bench`).
        "meanwhile_seconds": overlapped,
        "wall_seconds": round(time.monotonic() - begin, 1),
    })
    return result


def recorded_rungs(stack: Stack, case_ids: list[str]) -> list[dict[str, Any]]:
    with stack.engine.connect() as connection:
        rows = connection.execute(select(
            Escalation.case_id, Escalation.level, Escalation.scheduled_at, Escalation.fired_at,
            Escalation.recorded_at).where(Escalation.commitment == COMMITMENT,
                                          Escalation.case_id.in_(case_ids)))
        return [dict(row._mapping) for row in rows]


def _ratio(theirs: float | None, ours: float | None) -> float | None:
    if theirs is None or not ours:
        return None
    return round(theirs / ours, 1)


def grids(result: dict[str, Any]) -> list[Grid]:
    p = result["parameters"]
    rows = []
    ours_p99 = result["systems"][0]["lateness_seconds"]["p99"]
    for system in result["systems"]:
        late = system["lateness_seconds"]
        rows.append([system["system"], str(system["escalated"]), str(system["missing"]),
                     number(late["p50"], 2), number(late["p95"], 2), number(late["p99"], 2),
                     number(late["max"], 2),
                     "1" if system is result["systems"][0] else number(
                         _ratio(late["p99"], ours_p99), 0)])
    note = (f"{p['cases']} repairs opened over {p['spread_seconds']:g} s, arrival due "
            f"{p['deadline_seconds']:g} s after intake, left to breach; lateness = escalation "
            f"recorded - deadline, seconds. Pollers started at a random phase "
            f"(seed {p['seed']}).")
    return [Grid("Escalation lateness (s): caseflow vs cron polling, same deadlines, same run",
                 ["system", "escalated", "missing", "p50", "p95", "p99", "max",
                  "p99 x caseflow"], rows, note)]
