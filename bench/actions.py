"""Action round trip: people report the steps of repairs through the API (each step a Temporal
update, answered once it is in the history and the database), one person at a time and several
at once; every case is walked from intake to closed, so the closed cases feed the replay
benchmark."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.intake import settle
from bench.load import WALK, Api, Call, open_cases, spread, walk_cases
from bench.report import Grid, cpu_per, envelope, now, number
from bench.stack import Stack, cpu_used

ENGINEER_ACTIONS = sorted({action for role, action, _ in WALK if role == "engineer"})


async def measure(stack: Stack, *, people: tuple[int, ...] = (1, 8),
                  cases: int = 50) -> dict[str, Any]:
    result = envelope("actions", {"people": list(people), "cases_per_level": cases,
                                  "steps_per_case": len(WALK),
                                  "engineer_actions": ENGINEER_ACTIONS}, now())
    levels = []
    closed: list[str] = []
    async with Api(stack) as api:
        for count in people:
            opened, _ = await open_cases(api, cases, "minor", 8)
            case_ids = [c.body["case_id"] for c in opened if c.ok and c.body]
            await settle(stack)
            cpu_before = await asyncio.to_thread(stack.cpu)
            calls, seconds = await walk_cases(api, case_ids, count)
            cpu = await asyncio.to_thread(stack.cpu)
            ok = [c for c in calls if c.ok]
            levels.append({
                "people": count, "cases": len(case_ids), "actions": len(ok),
                "errors": len(calls) - len(ok),
                "error_statuses": sorted({c.status for c in calls if not c.ok}),
                "seconds": round(seconds, 1), "actions_per_second": round(len(ok) / seconds, 1),
                "engineer_latency_ms": spread((c.seconds for c in ok
                                               if c.what in ENGINEER_ACTIONS), 1000, 1),
                "all_latency_ms": spread((c.seconds for c in ok), 1000, 1),
                "by_action_ms": by_action(ok),
                "cpu_seconds": cpu_used(cpu_before, cpu),
            })
            closed += [c for c, walked in _walked(calls, case_ids).items() if walked]
    result["levels"] = levels
    result["closed_cases"] = len(closed)
    result["closed_case_ids"] = closed
    return result


def by_action(calls: list[Call]) -> dict[str, dict[str, Any]]:
    return {action: spread((c.seconds for c in calls if c.what == action), 1000, 1)
            for _, action, _ in WALK}


def _walked(calls: list[Call], case_ids: list[str]) -> dict[str, bool]:
    """Which cases reached closed: the last step (the callback) answered with status closed."""
    closed = {c.body["case_id"] for c in calls
              if c.ok and c.what == WALK[-1][1] and c.body and c.body.get("status") == "closed"}
    return {case_id: case_id in closed for case_id in case_ids}


def grids(result: dict[str, Any]) -> list[Grid]:
    rows = [[str(level["people"]), str(level["actions"]), number(level["actions_per_second"]),
             number(level["engineer_latency_ms"]["p50"], 0),
             number(level["engineer_latency_ms"]["p99"], 0),
             number(level["all_latency_ms"]["p50"], 0), number(level["all_latency_ms"]["p99"], 0),
             str(level["errors"]), cpu_per(level.get("cpu_seconds"), level["actions"])]
            for level in result["levels"]]
    p = result["parameters"]
    note = (f"{p['cases_per_level']} repairs per level walked from intake to closed "
            f"({p['steps_per_case']} steps each) by that many people at once; engineer actions: "
            f"{', '.join(p['engineer_actions'])}. CPU ms per step: of the dev server, the worker "
            "and the API.")
    return [Grid("Action round trip through the API (ms)",
                 ["people at once", "actions", "actions/s", "engineer p50", "engineer p99",
                  "all p50", "all p99", "errors", "CPU ms/step T / W / A"], rows, note)]
