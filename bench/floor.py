"""The floor of a step: what a step costs a workflow that does nothing but the Temporal parts
of caseflow's. The bare step (bench/bare.py: a row written by the API, an update
whose handler counts the step, a query of the state) is walked through the 11 steps of a repair
by one person, then again with each part caseflow's step has on top: a status search-attribute
upsert (caseflow upserts `CaseStatus` on 9 of the 11), a local activity that writes one row
(caseflow records the intake and every step in one), a query answered with 6 KB of state (about
a repair's case view), and all three. The variants alternate, round after round, on the same dev
server and PostgreSQL, so their differences are the parts' own costs and the last is the least a
step shaped as caseflow's can cost on this machine, before any of caseflow's own work. (An
intake's floor is not measured here: 30 or 50 intakes a variant, a second's CPU, were within
the machine's noise, variants with the same intake differing by a fifth.)"""

from __future__ import annotations

import asyncio
import json
from statistics import mean
from typing import Any

from temporalio.client import Client

from bench.actions import walk_bare
from bench.load import WALK, BareApi, spread
from bench.report import BARE, Grid, cpu_per, cpu_total, envelope, now, number, progress, times
from bench.stack import Stack
from caseflow.config import Settings
from caseflow.temporal import connect

# name -> the features of bench.bare its cases are opened with
VARIANTS: dict[str, tuple[str, ...]] = {
    "bare step": (),
    "+ status upsert": ("upsert",),
    "+ recording local activity": ("record",),
    "+ 6 KB view by query": ("view",),
    "all three": ("upsert", "record", "view"),
}


async def measure(stack: Stack, *, rounds: int = 2, cases: int = 50) -> dict[str, Any]:
    result = envelope("floor", {"rounds": rounds, "cases_per_variant": cases,
                                "steps_per_case": len(WALK), "people": 1}, now())
    url = await asyncio.to_thread(stack.start_bare)
    client = await connect(Settings(temporal_address=stack.temporal_address))
    levels: list[dict[str, Any]] = []
    shapes: dict[str, dict[str, Any]] = {}
    for turn in range(1, rounds + 1):
        for variant, features in VARIANTS.items():
            async with BareApi(url, features=features) as bare:
                names, calls, _, used = await walk_bare(stack, bare, 1, cases)
            ok = [c for c in calls if c.ok]
            levels.append({"variant": variant, "features": list(features), "round": turn,
                           "cases": len(names), "actions": len(ok),
                           "errors": len(calls) - len(ok),
                           "latency_ms": spread((c.seconds for c in ok), 1000, 1),
                           "answer_bytes": max((len(json.dumps(c.body)) for c in ok if c.body),
                                               default=0),
                           "cpu_seconds": used, "cpu_ms_per_step": cpu_total(used, len(ok), BARE)})
            if variant not in shapes and names:
                shapes[variant] = {"case": names[0], **await _history(client, names[0])}
            progress(f"floor: round {turn}, {variant}: "
                     f"{levels[-1]['cpu_ms_per_step']} ms of CPU a step")
    result["levels"] = levels
    result["history_per_case"] = shapes
    return result


async def _history(client: Client, name: str) -> dict[str, Any]:
    """Events, bytes (compact JSON) and event types of a walked bare case's history."""
    history = (await client.get_workflow_handle(f"bare-{name}").fetch_history()).to_json_dict()
    types: dict[str, int] = {}
    for event in history["events"]:
        kind = event["eventType"].removeprefix("EVENT_TYPE_")
        types[kind] = types.get(kind, 0) + 1
    return {"events": len(history["events"]),
            "bytes": len(json.dumps(history, separators=(",", ":"))), "types": types}


def grids(result: dict[str, Any]) -> list[Grid]:
    levels = result["levels"]
    shapes = result.get("history_per_case", {})
    totals = {variant: _totals([lv for lv in levels if lv["variant"] == variant])
              for variant in VARIANTS}
    floor = totals.get("bare step") or {}
    rows = []
    for variant in VARIANTS:
        mine = totals[variant]
        if not mine:
            continue
        shape = shapes.get(variant)
        rows.append([variant, str(mine["steps"]), str(mine["errors"]), number(mine["p50"], 0),
                     cpu_per(mine["cpu"], mine["steps"], BARE), number(mine["step"], 1),
                     f"{number(min(mine['rounds']), 1)}-{number(max(mine['rounds']), 1)}"
                     if mine["rounds"] else "-",
                     times(mine["step"], floor.get("step")),
                     f"{shape['events']} / {shape['bytes'] / 1024:.1f} KB" if shape else "-"])
    p = result["parameters"]
    note = (f"{p['cases_per_variant']} bare cases a variant opened by 8 clients, then walked "
            f"through the {p['steps_per_case']} steps of a repair by one person, the variants "
            f"alternating for {p['rounds']} rounds on the same dev server and PostgreSQL "
            "(bench/floor.py). A bare step: the API writes a row, sends an update (its handler "
            "counts the step) and queries the state. CPU ms per step of the dev server / bare "
            "worker / bare API / PostgreSQL over all rounds, their sum, the least and most of "
            "the rounds, the sum over the bare step's; the history of one walked case (intake "
            "and 11 steps).")
    return [Grid("The floor of a step: the Temporal parts of caseflow's step alone",
                 ["variant", "steps", "errors", "p50 ms", "CPU ms/step T / W / A / PG",
                  "CPU ms/step", "rounds", "x bare step", "history events / bytes"], rows, note)]


def _totals(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """A variant's rounds together: steps, errors, mean p50, CPU seconds by process, CPU ms
    per step over all rounds, and each round's."""
    if not levels:
        return {}
    cpu: dict[str, float] = {}
    for level in levels:
        for name, seconds in level["cpu_seconds"].items():
            cpu[name] = cpu.get(name, 0.0) + seconds
    steps = sum(level["actions"] for level in levels)
    return {"steps": steps, "errors": sum(level["errors"] for level in levels),
            "p50": mean(p50s) if (p50s := [level["latency_ms"]["p50"] for level in levels
                                            if level["latency_ms"]["p50"] is not None]) else None,
            "cpu": cpu, "step": cpu_total(cpu, steps, BARE),
            "rounds": [level["cpu_ms_per_step"] for level in levels if level["cpu_ms_per_step"]]}
