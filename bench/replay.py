"""Replay speed: closed repairs' histories replayed against today's code (full sandbox) with
caseflow.replay, as `caseflow replay` does for an auditor, at 100 and 1,000 histories, by one
process and by one per core; and the size of the walked repairs' histories."""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from rich.console import Console

from bench.intake import settle
from bench.load import Api, open_cases, walk_cases
from bench.report import Grid, envelope, now, number, progress
from bench.stack import Stack
from caseflow import replay
from caseflow.config import Settings
from caseflow.temporal import connect


async def closed_repairs(stack: Stack, count: int) -> list[str]:
    """Open `count` repairs and walk them to closed, 8 people at once; their ids."""
    async with Api(stack) as api:
        opened, _ = await open_cases(api, count, "minor", 8)
        case_ids = [c.body["case_id"] for c in opened if c.ok and c.body]
        await settle(stack)
        calls, _ = await walk_cases(api, case_ids, 8)
    return [c.body["case_id"] for c in calls
            if c.ok and c.what == "callback" and c.body and c.body.get("status") == "closed"]


async def measure(stack: Stack, *, case_ids: list[str], sizes: tuple[int, ...] = (100, 1000),
                  jobs: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    """Replay `sizes` histories of the closed cases `case_ids` (cycled when a size is larger
    than the number of cases: replay cost depends on a history, not on its case id) with each
    number of processes in `jobs`."""
    if not case_ids:
        raise ValueError("replay needs closed cases")
    result = envelope("replay", {"sizes": list(sizes), "jobs": list(jobs),
                                 "distinct_cases": len(case_ids)}, now())
    client = await connect(Settings(temporal_address=stack.temporal_address))
    quiet = Console(file=io.StringIO())

    begin = time.perf_counter()
    histories = [item async for item in replay.cases(client, case_ids)]
    fetched = time.perf_counter() - begin
    events = [len(history.events) for _, history in histories]  # type: ignore[union-attr]
    size_bytes = [len(json.dumps(history.to_json_dict(), separators=(",", ":")))  # type: ignore[union-attr]
                  for _, history in histories]

    async def run(size: int, distinct: int, source: str, processes: int,
                  items: AsyncIterator[replay.Item]) -> dict[str, Any]:
        begin = time.perf_counter()
        failures = await replay.replay_all(items, quiet, size, jobs=processes)
        seconds = time.perf_counter() - begin
        return {"histories": size, "distinct": min(size, distinct), "source": source,
                "jobs": processes, "failures": failures, "seconds": round(seconds, 2),
                "histories_per_second": round(size / seconds, 1)}

    runs = []
    for processes in jobs:
        for size in sizes:
            progress(f"replay: {size:,} histories, {processes} process(es)")
            runs.append(await run(size, len(histories), "histories in memory", processes,
                                  _cycle(histories, size)))
    # The whole `caseflow replay <case ids>` path once: fetch each history, then replay it.
    size, processes = min(sizes), max(jobs)
    ids = list(itertools.islice(itertools.cycle(case_ids), size))
    runs.append(await run(size, len(case_ids), "fetched from Temporal", processes,
                          replay.cases(client, ids)))
    result.update({
        "runs": runs,
        "events_per_history": {"min": min(events), "mean": round(sum(events) / len(events), 1),
                               "max": max(events)},
        "bytes_per_history": {"min": min(size_bytes),
                              "mean": round(sum(size_bytes) / len(size_bytes)),
                              "max": max(size_bytes)},
        "fetch_per_second": round(len(histories) / fetched, 1),
    })
    return result


async def _cycle(histories: list[replay.Item], size: int) -> AsyncIterator[replay.Item]:
    for name, history in itertools.islice(itertools.cycle(histories), size):
        yield name, history


def grids(result: dict[str, Any]) -> list[Grid]:
    rows = [[number(run["histories"], 0), number(run["distinct"], 0), run["source"],
             str(run.get("jobs", 1)), number(run["seconds"], 1),
             number(run["histories_per_second"]), str(run["failures"])]
            for run in result["runs"]]
    events = result["events_per_history"]
    size = result.get("bytes_per_history")
    weight = (f", {size['mean'] / 1024:.0f} KB of compact JSON ({size['min'] / 1024:.0f}-"
              f"{size['max'] / 1024:.0f})" if size else "")
    note = (f"Closed repairs walked through the API (11 steps after the intake): "
            f"{events['mean']:g} history events on average ({events['min']}-{events['max']})"
            f"{weight}. Replayed in the full sandbox with caseflow.replay.replay_all, as "
            "`caseflow replay --jobs N` does: one replayer per process.")
    return [Grid("Replay of closed cases", ["histories", "distinct cases", "source",
                                            "processes", "seconds", "histories/s",
                                            "divergent"], rows, note)]
