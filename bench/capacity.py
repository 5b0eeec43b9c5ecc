"""Open-case capacity: many open repairs with live timers on one worker; the memory of the worker,
the API and the Temporal dev server, the time to open them, and whether a sample of short
deadlines opened among them still escalates on time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import text

from bench import lateness
from bench.intake import settle
from bench.load import Api, open_cases, open_paced, spread
from bench.report import Grid, envelope, now, number, progress
from bench.stack import Stack


async def measure(stack: Stack, *, cases: int = 10_000, sample: int = 50,
                  sample_seconds: float = 30.0, clients: int = 32) -> dict[str, Any]:
    result = envelope("capacity", {"open_cases": cases, "sample": sample,
                                   "sample_seconds": sample_seconds, "clients": clients,
                                   "sample_deadline_seconds": stack.deadline}, now())
    memory = {"at start": await asyncio.to_thread(stack.memory)}
    async with Api(stack, connections=clients) as api:
        progress(f"capacity: opening {cases:,} repairs with {clients} clients")
        calls, seconds = await open_cases(api, cases, "minor", clients)
        progress(f"capacity: {cases:,} answered in {seconds:.0f} s")
        recorded = await settle(stack)
        memory["all open"] = await asyncio.to_thread(stack.memory)
        # The sample: general repairs whose arrival breaches `deadline` seconds after intake,
        # opened at a steady pace among all the open ones.
        progress(f"capacity: all recorded; opening the sample over {sample_seconds:g} s")
        short = await open_paced(api, sample, "general", sample_seconds)
    sample_ids = [c.body["case_id"] for c in short if c.ok and c.body]
    until = time.monotonic() + stack.deadline + lateness.GRACE + 30
    while True:
        rungs = await asyncio.to_thread(lateness.recorded_rungs, stack, sample_ids)
        breaches = [r for r in rungs if r["level"] == 1]
        if len(breaches) >= len(sample_ids) or time.monotonic() > until:
            break
        stack.check()
        await asyncio.sleep(0.5)
    memory["after the sample"] = await asyncio.to_thread(stack.memory)
    ok = [c for c in calls if c.ok]
    result.update({
        "created": len(ok), "errors": len(calls) - len(ok),
        "create_seconds": round(seconds, 1), "cases_per_second": round(len(ok) / seconds, 1),
        "recorded_after_seconds": round(recorded, 1),
        "open_cases": await asyncio.to_thread(_open_cases, stack),
        "memory_mb": memory,
        "sample_escalated": len(breaches), "sample_missing": len(sample_ids) - len(breaches),
        "sample_lateness_seconds": spread(
            (r["recorded_at"] - r["scheduled_at"]).total_seconds() for r in breaches),
        "storage_mb": await asyncio.to_thread(_storage, stack),
    })
    return result


def _open_cases(stack: Stack) -> int:
    with stack.engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM cases WHERE closed_at IS NULL")) or 0


def _storage(stack: Stack) -> dict[str, float]:
    with stack.engine.connect() as connection:
        database = connection.scalar(text("SELECT pg_database_size(current_database())")) or 0
    temporal = sum(path.stat().st_size for path in stack.workdir.glob("temporal.db*"))
    return {"postgresql": round(database / 2 ** 20, 1), "temporal_sqlite": round(temporal / 2 ** 20, 1)}


def grids(result: dict[str, Any]) -> list[Grid]:
    memory = result["memory_mb"]
    rows = [[moment, *(number(memory[moment][name]["rss_mb"], 0)
                       for name in ("worker", "api", "temporal"))] for moment in memory]
    late = result["sample_lateness_seconds"]
    note = (f"{result['created']:,} repairs opened in {result['create_seconds']:g} s "
            f"({result['cases_per_second']:g}/s, {result['errors']} errors), all intakes "
            f"recorded {result['recorded_after_seconds']:g} s later; {result['open_cases']:,} "
            f"open. Sample of {result['sample_escalated']} short deadlines opened among them over "
            f"{result['parameters']['sample_seconds']:g} s: lateness "
            f"p50 {number(late['p50'], 2)} s, p99 {number(late['p99'], 2)} s, max "
            f"{number(late['max'], 2)} s, {result['sample_missing']} missing. Storage: "
            f"PostgreSQL {result['storage_mb']['postgresql']:g} MB, Temporal SQLite "
            f"{result['storage_mb']['temporal_sqlite']:g} MB.")
    return [Grid("Open-case capacity: resident memory (MB)",
                 ["moment", "worker", "API", "Temporal dev server"], rows, note)]
