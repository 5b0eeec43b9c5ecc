"""Intake throughput and latency: hotline tools opening repairs through the API, 1, 8 and 32 at
once, each level for a fixed time; then how long the worker takes to record what was accepted.
Right after each level, the same level drives the bare pipeline (bench/bare.py) on the same dev
server and PostgreSQL: the floor caseflow's CPU per case is compared with, measured beside it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from bench.load import Api, BareApi, Call, spread
from bench.report import BARE, STACK, Grid, beside_bare, cpu_per, cpu_total, envelope, now, number, progress
from bench.stack import Stack, cpu_used
from caseflow.config import Settings
from caseflow.temporal import connect


async def settle(stack: Stack, timeout: float = 600.0) -> float:
    """Seconds until the worker has recorded the intake of every case opened so far; gives up
    once `timeout` seconds pass without any progress."""
    started = time.monotonic()
    left = await drain(stack, stack.opening, timeout, "intakes still to be recorded by the worker")
    if left:
        raise RuntimeError(f"{left} intakes unrecorded, none for {timeout:g} s")
    return time.monotonic() - started


async def drain(stack: Stack, left: Callable[[], int], patience: float, what: str) -> int:
    """Ask `left` (a blocking count of what the stack still has to do) until it is 0, or until
    it has not changed for `patience` seconds; what is left then. Says how many `what` every
    30 s."""
    last_change = told = time.monotonic()
    now_left = await asyncio.to_thread(left)
    while now_left:
        stack.check()
        await asyncio.sleep(0.2)
        before, now_left = now_left, await asyncio.to_thread(left)
        if now_left != before:
            last_change = time.monotonic()
        if time.monotonic() - last_change > patience:
            break
        if time.monotonic() - told > 30:
            progress(f"{now_left:,} {what}")
            told = time.monotonic()
    return now_left


async def quiet(stack: Stack, process: str, timeout: float = 600.0) -> float:
    """Seconds until `process` has done its work: it used under 10 ms of CPU in each of two
    half-seconds in a row (the bare pipeline leaves no row to wait for, as caseflow's intakes
    leave their `opening` rows)."""
    started = time.monotonic()
    calm, last = 0, (await asyncio.to_thread(stack.cpu))[process]
    while calm < 2:
        stack.check()
        await asyncio.sleep(0.5)
        used = (await asyncio.to_thread(stack.cpu))[process]
        calm, last = (calm + 1 if used - last < 0.01 else 0), used
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{process} still busy after {timeout:g} s")
    return time.monotonic() - started - 1.0


async def measure(stack: Stack, *, clients: tuple[int, ...] = (1, 8, 32),
                  seconds: float = 20.0) -> dict[str, Any]:
    result = envelope("intake", {"clients": list(clients), "seconds_per_level": seconds,
                                 "severity": "minor"}, now())
    levels: list[dict[str, Any]] = []
    # Each level of caseflow is followed at once by the same level of the bare pipeline: this
    # machine's speed drifts by a third within minutes, and a ratio of two runs minutes apart
    # would measure the drift (the whole caseflow series ran first until 2026-12-06).
    url = await asyncio.to_thread(stack.start_bare)
    async with Api(stack, connections=max(clients)) as api, BareApi(
            url, connections=max(clients)) as bare:
        for count in clients:
            await settle(stack)
            await quiet(stack, "bare_worker")
            cpu_before = await asyncio.to_thread(stack.cpu)
            calls, elapsed = await _open_for(api, count, seconds)
            progress(f"intake: {count} clients answered {len(calls)} calls in {elapsed:.0f} s")
            recorded = await settle(stack)
            cpu = await asyncio.to_thread(stack.cpu)
            levels.append(_level("caseflow", count, calls, elapsed, recorded,
                                 cpu_used(cpu_before, cpu), STACK))
            sample = next(c.body["case_id"] for c in reversed(calls) if c.ok and c.body)
            bare_sample = await _bare_level(stack, bare, count, seconds, levels)
    result["history_per_case"] = await _history(stack, sample)
    result["bare_history_per_case"] = await _history(stack, f"bare-{bare_sample}")
    result["levels"] = levels
    result["memory_mb"] = await asyncio.to_thread(stack.memory)
    return result


async def _bare_level(stack: Stack, bare: BareApi, count: int, seconds: float,
                      levels: list[dict[str, Any]]) -> str:
    """One level of the bare pipeline, once caseflow's worker has finished its own level (its
    last workflow tasks may complete after the intakes are recorded) and the bare worker is
    idle; the id of a case it opened."""
    await quiet(stack, "worker")
    await quiet(stack, "bare_worker")
    cpu_before = await asyncio.to_thread(stack.cpu)
    calls, elapsed = await _open_for(bare, count, seconds)
    progress(f"bare pipeline: {count} clients answered {len(calls)} calls")
    done = await quiet(stack, "bare_worker")
    cpu = await asyncio.to_thread(stack.cpu)
    levels.append(_level("bare", count, calls, elapsed, done, cpu_used(cpu_before, cpu), BARE))
    return str(next(c.body["id"] for c in reversed(calls) if c.ok and c.body))


def _level(system: str, count: int, calls: list[Call], elapsed: float, recorded: float,
           cpu: dict[str, float], names: tuple[str, ...]) -> dict[str, Any]:
    ok = [c for c in calls if c.ok]
    return {
        "system": system, "clients": count, "created": len(ok), "errors": len(calls) - len(ok),
        "error_statuses": sorted({c.status for c in calls if not c.ok}),
        "seconds": round(elapsed, 1),
        "cases_per_second": round(len(ok) / elapsed, 1),
        "latency_ms": spread((c.seconds for c in ok), 1000, 1),
        # After the last answer, until the worker had recorded (or, for the bare pipeline,
        # started) every accepted intake.
        "recorded_after_seconds": round(recorded, 1),
        "recorded_per_second": round(len(ok) / (elapsed + recorded), 1),
        "cpu_seconds": cpu,
        "cpu_ms_per_case": cpu_total(cpu, len(ok), names),
        "machine_cpu_ms_per_case": cpu_total(cpu, len(ok), ("machine",)),
    }


async def _history(stack: Stack, workflow_id: str) -> dict[str, int]:
    """Events and bytes (compact JSON) of a workflow's history once its first workflow task
    has completed (a case records its intake during that task, so the database can show it
    recorded a moment before the task's completion is in the history)."""
    client = await connect(Settings(temporal_address=stack.temporal_address))
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(100):
        history = (await handle.fetch_history()).to_json_dict()
        if any(e.get("eventType") == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"
               for e in history["events"]):
            break
        await asyncio.sleep(0.1)
    return {"events": len(history["events"]),
            "bytes": len(json.dumps(history, separators=(",", ":")))}


async def _open_for(api: Api | BareApi, clients: int,
                    seconds: float) -> tuple[list[Call], float]:
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
    levels = result["levels"]
    rows = []
    for level, ratio in zip(levels, beside_bare(levels, "clients", "cpu_ms_per_case"),
                            strict=True):
        system = level.get("system", "caseflow")
        names = BARE if system == "bare" else STACK
        rows.append([system, str(level["clients"]), str(level["created"]),
                     number(level["cases_per_second"]), number(level["latency_ms"]["p50"], 0),
                     number(level["latency_ms"]["p99"], 0), str(level["errors"]),
                     number(level["recorded_per_second"]),
                     cpu_per(level.get("cpu_seconds"), level["created"], names),
                     number(level.get("cpu_ms_per_case"), 0),
                     number(level.get("machine_cpu_ms_per_case"), 0), ratio])
    seconds = result["parameters"]["seconds_per_level"]
    case, bare_case = result.get("history_per_case"), result.get("bare_history_per_case")
    shape = ""
    if case:
        shape = (f" A caseflow intake's history: {case['events']} events, "
                 f"{case['bytes'] / 1024:.1f} KB")
        if bare_case:
            shape += (f"; the bare pipeline's: {bare_case['events']} events, "
                      f"{bare_case['bytes'] / 1024:.1f} KB")
        shape += "."
    note = (f"POST /v1/repairs (caseflow) and POST /bare (bench/bare.py: one row, a workflow "
            f"with one timer) for {seconds:g} s per level, on the same dev server and "
            "PostgreSQL. 'end to end': cases / (level time + until the worker had recorded "
            "(bare: started) the last). CPU ms per case of the dev server / worker / API / "
            "PostgreSQL, their sum, and the whole machine's (which includes the load "
            f"generator and anything else running); 'x bare': the sum over the bare pipeline's "
            f"at the same level.{shape}")
    return [Grid("Intake through the API, beside the bare pipeline",
                 ["system", "clients", "created", "cases/s", "p50 ms", "p99 ms", "errors",
                  "end to end cases/s", "CPU ms/case T / W / A / PG", "CPU ms/case",
                  "machine ms/case", "x bare"], rows, note)]
