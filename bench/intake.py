"""Intake throughput and latency: hotline tools opening repairs through the API, 1, 8 and 32 at
once, each level for a fixed time; then how long the worker takes to record what was accepted."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.load import Api, Call, spread
from bench.report import Grid, cpu_per, envelope, now, number, progress
from bench.stack import Stack, cpu_used


async def settle(stack: Stack, timeout: float = 600.0) -> float:
    """Seconds until the worker has recorded the intake of every case opened so far; gives up
    once `timeout` seconds pass without any progress."""
    started = last_change = told = time.monotonic()
    left = await asyncio.to_thread(stack.opening)
    while left:
        stack.check()
        await asyncio.sleep(0.2)
        now_left = await asyncio.to_thread(stack.opening)
        if now_left != left:
            left, last_change = now_left, time.monotonic()
        if time.monotonic() - last_change > timeout:
            raise RuntimeError(f"{left} intakes unrecorded, none for {timeout:g} s")
        if time.monotonic() - told > 30:
            progress(f"{left:,} intakes still to be recorded by the worker")
            told = time.monotonic()
    return time.monotonic() - started


async def measure(stack: Stack, *, clients: tuple[int, ...] = (1, 8, 32),
                  seconds: float = 20.0) -> dict[str, Any]:
    result = envelope("intake", {"clients": list(clients), "seconds_per_level": seconds,
                                 "severity": "minor"}, now())
    levels = []
    async with Api(stack, connections=max(clients)) as api:
        for count in clients:
            await settle(stack)
            cpu_before = await asyncio.to_thread(stack.cpu)
            calls, elapsed = await _open_for(api, count, seconds)
            progress(f"intake: {count} clients answered {len(calls)} calls in {elapsed:.0f} s")
            recorded = await settle(stack)
            cpu = await asyncio.to_thread(stack.cpu)
            ok = [c for c in calls if c.ok]
            levels.append({
                "clients": count, "created": len(ok), "errors": len(calls) - len(ok),
                "error_statuses": sorted({c.status for c in calls if not c.ok}),
                "seconds": round(elapsed, 1),
                "cases_per_second": round(len(ok) / elapsed, 1),
                "latency_ms": spread((c.seconds for c in ok), 1000, 1),
                # After the last answer, until the worker had recorded every accepted intake.
                "recorded_after_seconds": round(recorded, 1),
                "recorded_per_second": round(len(ok) / (elapsed + recorded), 1),
                "cpu_seconds": cpu_used(cpu_before, cpu),
            })
    result["levels"] = levels
    result["memory_mb"] = await asyncio.to_thread(stack.memory)
    return result


async def _open_for(api: Api, clients: int, seconds: float) -> tuple[list[Call], float]:
    """`clients` hotline tools open repairs one after another for `seconds`."""
    calls: list[Call] = []
    begin = time.monotonic()
    end = begin + seconds

    async def client() -> None:
        while time.monotonic() < end:
            calls.append(await api.open_repair("minor", len(calls)))

    await asyncio.gather(*(client() for _ in range(clients)))
    return calls, time.monotonic() - begin


def grids(result: dict[str, Any]) -> list[Grid]:
    rows = [[str(level["clients"]), str(level["created"]),
             number(level["cases_per_second"]), number(level["latency_ms"]["p50"], 0),
             number(level["latency_ms"]["p99"], 0), str(level["errors"]),
             number(level["recorded_after_seconds"]), number(level["recorded_per_second"]),
             cpu_per(level.get("cpu_seconds"), level["created"])]
            for level in result["levels"]]
    seconds = result["parameters"]["seconds_per_level"]
    note = (f"POST /v1/repairs for {seconds:g} s per level. 'recorded after': seconds after the "
            "last answer until the worker had recorded every accepted intake; 'end to end' = "
            "created / (level time + recorded after). CPU ms per case: of the dev server, the worker and "
            "the API, from the level's start until every intake was recorded.")
    return [Grid("Intake through the API", ["clients", "created", "cases/s", "p50 ms",
                                            "p99 ms", "errors", "recorded after s",
                                            "end to end cases/s",
                                            "CPU ms/case T / W / A"], rows, note)]
