"""The benchmarks run at a tiny size on a real stack (dev server, worker and API as processes,
PostgreSQL), so their code cannot rot: each result has the shape bench/results/ and
docs/performance.md expect and sane values. Speed is measured by `make bench`, never here."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bench import actions, alarms, bare, capacity, floor, intake, lateness, replay
from bench.load import WALK, BareApi
from bench.report import BARE, STACK, cpu_total, write
from bench.stack import Stack, running_stack
from caseflow.cli import app

pytestmark = pytest.mark.e2e
DEADLINE = 3.0


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(DEADLINE) as running:
        yield running


def ordered(spread: dict[str, Any]) -> bool:
    return 0 <= spread["p50"] <= spread["p95"] <= spread["p99"] <= spread["max"]


def round_trip(result: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Written as bench/results/<name>.json and read back unchanged."""
    path = write(result, folder)
    assert path.name == f"{result['benchmark']}.json"
    assert json.loads(path.read_text("utf-8")) == json.loads(json.dumps(result, default=str))
    return result


async def test_lateness_compares_caseflow_with_pollers_on_the_same_deadlines(stack, tmp_path):
    seen_by_meanwhile = []

    async def meanwhile() -> None:  # make bench runs other benchmarks here
        with stack.engine.connect() as connection:
            seen_by_meanwhile.append(connection.scalar(text(
                "SELECT count(*) FROM escalations WHERE commitment = 'arrival' AND level = 3")))

    result = await lateness.measure(stack, cases=6, spread_seconds=2, intervals=(1.0, 3.0),
                                    seed=7, meanwhile=meanwhile)
    round_trip(result, tmp_path)
    assert seen_by_meanwhile == [6]  # it ran once, after caseflow's last rung was recorded
    assert [s["system"] for s in result["systems"]] == [
        "caseflow", "cron poll every 1 s", "cron poll every 3 s"]
    for system in result["systems"]:
        assert (system["escalated"], system["missing"]) == (6, 0), system
        assert ordered(system["lateness_seconds"]), system
    for poller, interval in zip(result["systems"][1:], (1.0, 3.0), strict=True):
        assert poller["lateness_seconds"]["max"] < interval + 1.0  # at most one interval late
        assert 0 <= poller["phase_seconds"] <= interval
    assert result["deadline_disagreements"] == 0  # caseflow and the pollers had one deadline
    assert result["caseflow_every_rung_lateness_seconds"]["n"] == 6 * lateness.RUNGS
    assert set(result["times_later_than_caseflow"]) == {"cron poll every 1 s",
                                                        "cron poll every 3 s"}
    table = lateness.grids(result)[0].markdown()
    assert "| caseflow | 6 | 0 |" in table and "cron poll every 3 s" in table


async def test_intake_counts_cases_latency_errors_and_the_workers_catch_up(stack, tmp_path):
    result = round_trip(await intake.measure(stack, clients=(1, 2), seconds=1), tmp_path)
    # Each level of caseflow, then the same level of the bare pipeline right after it.
    assert [(level["system"], level["clients"]) for level in result["levels"]] == [
        ("caseflow", 1), ("bare", 1), ("caseflow", 2), ("bare", 2)]
    for level in result["levels"]:
        assert level["created"] > 0 and level["errors"] == 0, level
        assert level["cases_per_second"] > 0 and ordered(level["latency_ms"])
        assert level["recorded_after_seconds"] >= 0
        # Each system's CPU per case sums its own processes: the dev server, its worker, its
        # API and PostgreSQL.
        assert level["cpu_ms_per_case"] == cpu_total(
            level["cpu_seconds"], level["created"],
            STACK if level["system"] == "caseflow" else BARE) > 0, level
    assert stack.opening() == 0  # every accepted intake was recorded before the result
    # An intake's history; the bare pipeline's: started, a task, a timer.
    assert 5 <= result["history_per_case"]["events"] <= 12
    assert result["bare_history_per_case"]["events"] == 5
    table = intake.grids(result)[0].markdown()
    assert "Intake through the API" in table and "x bare" in table and "| bare | 2 |" in table


async def test_actions_walk_every_case_to_closed_and_time_each_step(stack, tmp_path):
    result = round_trip(await actions.measure(stack, people=(1, 2), cases=2, reports=3),
                        tmp_path)
    # Each level of caseflow, then the same level of the bare pipeline right after it.
    assert [(level["system"], level["people"]) for level in result["levels"]] == [
        ("caseflow", 1), ("bare", 1), ("caseflow", 2), ("bare", 2)]
    for level in result["levels"]:
        assert level["cpu_ms_per_step"] == cpu_total(
            level["cpu_seconds"], level["actions"],
            STACK if level["system"] == "caseflow" else BARE) > 0, level
        assert (level["actions"], level["errors"]) == (2 * 11, 0), level
        assert level["engineer_latency_ms"]["n"] == 2 * len(actions.ENGINEER_ACTIONS)
        assert ordered(level["all_latency_ms"])
        assert set(level["by_action_ms"]) >= {"assign", "resolve", "callback"}
    assert result["closed_cases"] == 4 == len(set(result["closed_case_ids"]))
    assert result["history_per_case"]["cases"] == 4
    # The closed cases were sealed before caseflow's CPU was read: the seals are its work.
    assert [level["unsealed"] for level in result["levels"][::2]] == [0, 0]
    table = actions.grids(result)[0]
    assert "events" in table.note
    rows = table.markdown().splitlines()
    # Each caseflow row ends with its ratio to the bare row of its level.
    assert [re.search(r"\| (\d+\.\d\d)x \|$", row) is not None
            for row in rows if row.startswith("| caseflow |")] == [True, True]
    assert any(row.startswith("| bare | 2 | 22 |") and row.endswith("| - |") for row in rows)
    long = result["long_repair"]
    assert long["reports"] == 3 and long["first"]["events"] > 0 and long["last"]["bytes"] > 0


async def test_a_bare_step_answers_the_state_its_update_changed(stack):
    async with BareApi(await asyncio.to_thread(stack.start_bare)) as bare:
        opened = await bare.open_repair("minor")
        calls = await bare.walk(opened.body["id"])
    assert [call.status for call in calls] == [200] * len(WALK)
    # The query after each update reads the state that update left.
    assert [call.body for call in calls] == [{"steps": n, "last": action}
                                             for n, (_, action, _) in enumerate(WALK, 1)]


async def test_the_floor_walks_each_variant_with_the_parts_it_names(stack, tmp_path):
    result = round_trip(await floor.measure(stack, rounds=1, cases=2), tmp_path)
    assert [level["variant"] for level in result["levels"]] == list(floor.VARIANTS)
    for level in result["levels"]:
        assert (level["actions"], level["errors"]) == (22, 0), level
        assert level["cpu_ms_per_step"] == cpu_total(level["cpu_seconds"], 22, BARE) > 0
    types = {variant: shape["types"] for variant, shape in result["history_per_case"].items()}
    # Each part is in the history of the variants that have it, and only there: an upsert per
    # step, a local activity's marker per step; the view is in the query's answer only.
    for variant, features in floor.VARIANTS.items():
        assert types[variant].get("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", 0) == (
            11 if "upsert" in features else 0), variant
        assert types[variant].get("MARKER_RECORDED", 0) == (  # the intake's and the steps'
            12 if "record" in features else 0), variant
        assert types[variant]["WORKFLOW_EXECUTION_UPDATE_COMPLETED"] == 11
    answers = {level["variant"]: level["answer_bytes"] for level in result["levels"]}
    assert answers["+ 6 KB view by query"] > bare.VIEW_BYTES > answers["bare step"]
    rows = {}  # a row a step from the API, one more a step and the intake's from the activity
    with stack.engine.connect() as connection:
        for variant, shape in result["history_per_case"].items():
            rows[variant] = connection.scalar(text(
                "SELECT count(*) FROM bare_steps WHERE name = :name"), {"name": shape["case"]})
    assert rows == {variant: 23 if "record" in features else 11
                    for variant, features in floor.VARIANTS.items()}
    table = floor.grids(result)[0].markdown().splitlines()
    assert any(row.startswith("| all three | 22 | 0 |") for row in table)
    # The bare step is the measure of the others: its own ratios are 1.
    assert any(row.startswith("| bare step |") and "| 1.00x |" in row for row in table)


async def test_replay_replays_closed_cases_without_divergence(stack, tmp_path):
    closed = await replay.closed_repairs(stack, 2)
    assert len(closed) == 2
    result = round_trip(await replay.measure(stack, case_ids=closed, sizes=(2, 3),
                                              jobs=(1, 2)), tmp_path)
    assert [(r["histories"], r["distinct"], r["source"], r["jobs"]) for r in result["runs"]] == [
        (2, 2, "histories in memory", 1), (3, 2, "histories in memory", 1),
        (2, 2, "histories in memory", 2), (3, 2, "histories in memory", 2),
        (2, 2, "fetched from Temporal", 2)]
    assert all(r["failures"] == 0 and r["histories_per_second"] > 0 for r in result["runs"])
    assert result["events_per_history"]["min"] > 50  # a whole walk, intake to callback


async def test_capacity_measures_memory_and_whether_short_deadlines_keep_time(stack, tmp_path):
    result = round_trip(await capacity.measure(stack, cases=10, sample=2, sample_seconds=1,
                                                      clients=4), tmp_path)
    assert (result["created"], result["errors"]) == (10, 0)
    assert result["open_cases"] >= 10
    assert (result["sample_escalated"], result["sample_missing"]) == (2, 0)
    assert ordered(result["sample_lateness_seconds"])
    for moment in ("at start", "all open", "after the sample"):
        assert all(result["memory_mb"][moment][p]["rss_mb"] > 10
                   for p in ("worker", "api", "temporal"))
    assert result["storage_mb"]["postgresql"] > 0 and result["storage_mb"]["temporal_sqlite"] > 0


def test_bench_docs_rewrites_only_the_results_block(tmp_path):
    results = tmp_path / "results"
    result = {"benchmark": "intake", "run_at": "2026-11-30T00:00:00+00:00",
              "machine": {"cores": 2, "cpu": "AMD EPYC", "memory_gb": 23.5, "python": "3.11.7",
                          "load_average": [0.5, 0.4, 0.3], "temporal": "temporal 1.9.1",
                          "postgresql": "PostgreSQL 15"},
              "parameters": {"clients": [8], "seconds_per_level": 1},
              "levels": [{"clients": 8, "created": 120, "errors": 0, "cases_per_second": 120.0,
                          "latency_ms": {"p50": 60.0, "p99": 90.0},
                          "recorded_after_seconds": 0.5, "recorded_per_second": 80.0}]}
    write(result, results)
    page = tmp_path / "performance.md"
    page.write_text("# 性能\n\nreading\n\n<!-- bench:results -->\nold\n<!-- /bench:results -->\n"
                    "\nmore reading\n", "utf-8")
    done = CliRunner().invoke(app, ["bench", "docs", "--results", str(results), "--docs",
                                    str(page)])
    assert done.exit_code == 0, done.output
    text = page.read_text("utf-8")
    assert text.startswith("# 性能\n\nreading\n") and text.endswith("\nmore reading\n")
    assert "old" not in text
    assert "| caseflow | 8 | 120 | 120.0 | 60 | 90 | 0 | 80.0 | - | - | - | - |" in text
    assert "Machine: 2 cores (AMD EPYC), 23.5 GB RAM" in text


async def test_an_alarm_burst_is_taken_whole_with_one_case_per_fault_episode(stack, tmp_path):
    result = round_trip(await alarms.measure(stack, rate=100, seconds=1.0, units=20, faults=4),
                        tmp_path)
    assert result["sent"] == 100 and result["accepted"] == 100 and result["errors"] == 0
    assert (result["lost"], result["refused"]) == (0, 0)
    assert result["episodes_stored"] == 4 and result["repairs_of_the_episodes"] == 4
    assert result["repairs_opened"] == 4
    # A first alarm's latency is measured when its batch's answer names the case; under a busy
    # machine another batch of the same episode may open it first (then this one says null).
    first = result["first_alarm_to_case_ms"]
    assert first["n"] <= 4 and (first["n"] == 0 or ordered(first))
    assert result["replayed_batch"] == {"duplicates": 10, "accepted": 0, "cases_opened": 0}
    table = alarms.grids(result)[0].markdown()
    assert "| 100 | 100 | 0 | 0 | 4 | 4 |" in table
