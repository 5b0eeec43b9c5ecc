"""Action round trip: people report the steps of repairs through the API (each step a Temporal
update, answered once it is in the history and the database), one person at a time and several
at once; every case is walked from intake to closed, so the closed cases feed the replay
benchmark. Right after each level, as many people walk as many bare cases through the same
steps (bench/bare.py: a row, an update and a query a step) on the same dev server and
PostgreSQL: the floor a step's CPU is compared with, measured beside it. Then the histories the
walks left (events and bytes per case), and one repair that waits for parts with 100 progress
reports: the bytes the 1st and the 100th add to its history."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import text

from bench.intake import drain, quiet, settle
from bench.load import WALK, Api, BareApi, Call, open_cases, spread, walk_cases
from bench.report import BARE, STACK, Grid, beside_bare, cpu_per, cpu_total, envelope, now, number, progress
from bench.stack import Stack, cpu_used
from caseflow.config import Settings
from caseflow.temporal import connect

ENGINEER_ACTIONS = sorted({action for role, action, _ in WALK if role == "engineer"})


async def measure(stack: Stack, *, people: tuple[int, ...] = (1, 8),
                  cases: int = 50, reports: int = 100) -> dict[str, Any]:
    result = envelope("actions", {"people": list(people), "cases_per_level": cases,
                                  "steps_per_case": len(WALK),
                                  "engineer_actions": ENGINEER_ACTIONS}, now())
    levels: list[dict[str, Any]] = []
    closed: list[str] = []
    url = await asyncio.to_thread(stack.start_bare)
    async with Api(stack) as api, BareApi(url) as bare:
        for count in people:
            opened, _ = await open_cases(api, cases, "minor", 8)
            case_ids = [c.body["case_id"] for c in opened if c.ok and c.body]
            await settle(stack)
            await quiet(stack, "bare_worker")
            cpu_before = await asyncio.to_thread(stack.cpu)
            calls, seconds = await walk_cases(api, case_ids, count)
            walked = [c for c, done in _walked(calls, case_ids).items() if done]
            # What the level leaves to the worker counts as its own: the closed cases' seals
            # (the sealer looks every few seconds) and the last tasks.
            unsealed = await sealed(stack, walked)
            await quiet(stack, "worker")
            cpu = await asyncio.to_thread(stack.cpu)
            levels.append({**_level("caseflow", count, len(case_ids), calls, seconds,
                                    cpu_used(cpu_before, cpu), STACK), "unsealed": unsealed})
            closed += walked
            levels.append(await _bare_level(stack, bare, count, cases))
        result["long_repair"] = await long_repair(stack, api, reports)
    result["levels"] = levels
    result["closed_cases"] = len(closed)
    result["closed_case_ids"] = closed
    result["history_per_case"] = await histories(stack, closed[:20])
    return result


async def sealed(stack: Stack, case_ids: list[str], patience: float = 60.0) -> int:
    """Wait until the worker has sealed the closed cases `case_ids`, or has sealed none more for
    `patience` seconds; how many are left unsealed."""
    query = text("SELECT count(DISTINCT case_id) FROM case_seals WHERE case_id = ANY(:ids)")

    def unsealed() -> int:
        if not case_ids:
            return 0
        with stack.engine.connect() as connection:
            return len(case_ids) - int(connection.scalar(query, {"ids": case_ids}) or 0)

    return await drain(stack, unsealed, patience, "closed cases still to be sealed")


async def walk_bare(stack: Stack, bare: BareApi, people: int,
                    cases: int) -> tuple[list[str], list[Call], float, dict[str, float]]:
    """`cases` bare cases opened, then walked by `people` once caseflow's worker has done its
    work (its last tasks, the reviews and seals of closed cases) and the bare worker is idle:
    their names, the calls, the seconds the walk took and the CPU it used."""
    opened, _ = await open_cases(bare, cases, "minor", 8)
    names = [c.body["id"] for c in opened if c.ok and c.body]
    await quiet(stack, "worker")
    await quiet(stack, "bare_worker")
    cpu_before = await asyncio.to_thread(stack.cpu)
    calls, seconds = await walk_cases(bare, names, people)
    return names, calls, seconds, cpu_used(cpu_before, await asyncio.to_thread(stack.cpu))


async def _bare_level(stack: Stack, bare: BareApi, people: int, cases: int) -> dict[str, Any]:
    names, calls, seconds, cpu = await walk_bare(stack, bare, people, cases)
    progress(f"actions: bare pipeline, {people} people answered {len(calls)} steps")
    return _level("bare", people, len(names), calls, seconds, cpu, BARE)


def _level(system: str, people: int, cases: int, calls: list[Call], seconds: float,
           cpu: dict[str, float], names: tuple[str, ...]) -> dict[str, Any]:
    ok = [c for c in calls if c.ok]
    return {
        "system": system, "people": people, "cases": cases, "actions": len(ok),
        "errors": len(calls) - len(ok),
        "error_statuses": sorted({c.status for c in calls if not c.ok}),
        "seconds": round(seconds, 1), "actions_per_second": round(len(ok) / seconds, 1),
        "engineer_latency_ms": spread((c.seconds for c in ok
                                       if c.what in ENGINEER_ACTIONS), 1000, 1),
        "all_latency_ms": spread((c.seconds for c in ok), 1000, 1),
        "by_action_ms": by_action(ok),
        "cpu_seconds": cpu,
        "cpu_ms_per_step": cpu_total(cpu, len(ok), names),
    }


async def _size(client: Any, case_id: str) -> tuple[int, int]:
    history = (await client.get_workflow_handle(case_id).fetch_history()).to_json_dict()
    return len(history["events"]), len(json.dumps(history, separators=(",", ":")))


async def histories(stack: Stack, case_ids: list[str]) -> dict[str, Any]:
    """Events and bytes (compact JSON) of the walked cases' histories."""
    client = await connect(Settings(temporal_address=stack.temporal_address))
    sizes = [await _size(client, case_id) for case_id in case_ids]
    if not sizes:
        return {}
    events, size = [e for e, _ in sizes], [b for _, b in sizes]
    return {"cases": len(sizes), "events": _range(events), "bytes": _range(size)}


def _range(values: list[int]) -> dict[str, float]:
    return {"min": min(values), "mean": round(sum(values) / len(values), 1), "max": max(values)}


async def long_repair(stack: Stack, api: Api, reports: int) -> dict[str, Any]:
    """A repair walked to repairing, then `reports` progress reports: the bytes the first and
    the last add to its history, and its runs."""
    progress(f"actions: one repair with {reports} progress reports")
    client = await connect(Settings(temporal_address=stack.temporal_address))
    opened = await api.open_repair("minor")
    case_id = opened.body["case_id"] if opened.body else ""
    await settle(stack)
    for role, action, payload in WALK[:WALK.index(next(w for w in WALK if w[1] == "progress"))]:
        done = await api.act(role, case_id, action, payload)
        if not done.ok:
            raise RuntimeError(f"{action} refused: {done.status} {done.body}")
    added: dict[int, dict[str, int]] = {}
    for day in range(1, reports + 1):
        measured = day in (1, reports)
        before = await _size(client, case_id) if measured else (0, 0)
        done = await api.act("engineer", case_id, "progress", {"note": f"第{day}天: 等待备件"})
        if not done.ok:
            raise RuntimeError(f"progress refused: {done.status} {done.body}")
        if measured:
            after = await _size(client, case_id)
            added[day] = {"events": after[0] - before[0], "bytes": after[1] - before[1]}
    events, size = await _size(client, case_id)
    view = await api.case(case_id)
    return {"reports": reports, "first": added[1], "last": added[reports],
            "run": (view.body or {}).get("run", 1), "events_now": events, "bytes_now": size}


def by_action(calls: list[Call]) -> dict[str, dict[str, Any]]:
    return {action: spread((c.seconds for c in calls if c.what == action), 1000, 1)
            for _, action, _ in WALK}


def _walked(calls: list[Call], case_ids: list[str]) -> dict[str, bool]:
    """Which cases reached closed: the last step (the callback) answered with status closed."""
    closed = {c.body["case_id"] for c in calls
              if c.ok and c.what == WALK[-1][1] and c.body and c.body.get("status") == "closed"}
    return {case_id: case_id in closed for case_id in case_ids}


def grids(result: dict[str, Any]) -> list[Grid]:
    levels = result["levels"]
    rows = []
    for level, ratio in zip(levels, beside_bare(levels, "people", "cpu_ms_per_step"),
                            strict=True):
        system = level.get("system", "caseflow")  # runs before 2026-12-07 had no bare rows
        names = BARE if system == "bare" else STACK
        rows.append([system, str(level["people"]), str(level["actions"]),
                     number(level["actions_per_second"]),
                     number(level["engineer_latency_ms"]["p50"], 0),
                     number(level["engineer_latency_ms"]["p99"], 0),
                     number(level["all_latency_ms"]["p50"], 0),
                     number(level["all_latency_ms"]["p99"], 0), str(level["errors"]),
                     cpu_per(level.get("cpu_seconds"), level["actions"], names),
                     number(level.get("cpu_ms_per_step"), 0),
                     number(cpu_total(level.get("cpu_seconds"), level["actions"], ("machine",)),
                            0), ratio])
    p = result["parameters"]
    shape = ""
    walked = result.get("history_per_case")
    if walked:
        shape = (f" The walked cases' histories: {walked['events']['mean']:g} events "
                 f"({walked['events']['min']:g}-{walked['events']['max']:g}), "
                 f"{walked['bytes']['mean'] / 1024:.1f} KB of compact JSON "
                 f"({walked['bytes']['min'] / 1024:.1f}-{walked['bytes']['max'] / 1024:.1f}).")
    long = result.get("long_repair")
    if long:
        shape += (f" One repair with {long['reports']} progress reports: the 1st added "
                  f"{long['first']['events']} events, {long['first']['bytes']:,} bytes; the "
                  f"{long['reports']}th {long['last']['events']} events, "
                  f"{long['last']['bytes']:,} bytes (run {long['run']}, "
                  f"{long['events_now']} events now).")
    left = sum(level.get("unsealed", 0) for level in result["levels"])
    unsealed = f" {left} closed cases were still unsealed when the CPU was read." if left else ""
    note = (f"{p['cases_per_level']} repairs per level walked from intake to closed "
            f"({p['steps_per_case']} steps each) by that many people at once, then as many bare "
            "cases walked through the same steps (bench/bare.py: a row, an update and a query "
            "a step) on the same dev server and PostgreSQL; engineer actions: "
            f"{', '.join(p['engineer_actions'])}. CPU ms per step: of the dev server, the worker "
            "(bare: its worker), the API (bare: its API) and PostgreSQL, their sum, and the "
            "whole machine's, caseflow's until its closed cases were sealed; 'x bare': the sum "
            f"over the bare pipeline's at the same level.{unsealed}{shape}")
    return [Grid("Action round trip through the API, beside the bare pipeline (ms)",
                 ["system", "people at once", "actions", "actions/s", "engineer p50",
                  "engineer p99", "all p50", "all p99", "errors", "CPU ms/step T / W / A / PG",
                  "CPU ms/step", "machine ms/step", "x bare"], rows, note)]
