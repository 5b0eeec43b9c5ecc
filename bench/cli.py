"""`caseflow bench ...`: each benchmark on a stack of its own, its table printed and its JSON
written to bench/results/; `all` is `make bench` and refreshes docs/performance.md."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from bench.stack import Stack

# Imported by every `caseflow` command: the benchmarks themselves load when one runs.
app = typer.Typer(help="Benchmarks against the cron-polling baseline (docs/performance.md).",
                  no_args_is_help=True)
console = Console()
if not console.is_terminal:  # piped (make, CI logs): wide enough for every table
    console = Console(width=160)
NAMES = ("lateness", "intake", "actions", "floor", "replay", "capacity", "alarms")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:results -->", "<!-- /bench:results -->"

# The sizes `make bench` runs (about 15 minutes on 2 cores; docs/performance.md says why).
DEADLINE = 30.0
MAKE_BENCH: dict[str, dict[str, Any]] = {
    "lateness": {"cases": 250, "spread_seconds": 150.0, "intervals": (60.0, 300.0)},
    "intake": {"clients": (1, 8, 32), "seconds": 10.0},
    "actions": {"people": (1, 8), "cases": 50},
    "floor": {"rounds": 2, "cases": 50},
    "replay": {"sizes": (100, 1000)},
    "capacity": {"cases": 1500, "sample": 50, "sample_seconds": 30.0, "clients": 32},
    "alarms": {"rate": 500, "seconds": 10.0, "units": 200, "faults": 40},
}

Results = Annotated[Path, typer.Option(help="where the JSON results go")]
Settings = Annotated[list[str] | None, typer.Option(
    "--setting", help="NAME=VALUE given to the worker and the API, e.g. a rate limit")]
Keep = Annotated[bool, typer.Option(help="keep the stack's logs and files (path printed)")]
Deadline = Annotated[float, typer.Option(
    help="seconds from intake to a general repair's arrival deadline (the bench policy)")]


def _settings(pairs: list[str] | None) -> dict[str, str]:
    settings = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--setting")
        settings[name] = value
    return settings


def module(name: str) -> ModuleType:
    return importlib.import_module(f"bench.{name}")


Measure = Callable[["Stack"], Coroutine[Any, Any, dict[str, Any]]]


async def _measured(name: str, measuring: Awaitable[dict[str, Any]],
                    results: Path) -> dict[str, Any]:
    """Run one benchmark, print its tables, write its JSON."""
    from bench.report import show, write

    console.print(f"[bold]{name}[/] ...")
    result = await measuring
    show(module(name).grids(result), console)
    console.print(f"written {write(result, results)}")
    return result


def _alone(name: str, measure: Measure, deadline: float, settings: list[str] | None, keep: bool,
           results: Path) -> None:
    from bench.stack import running_stack

    with running_stack(deadline, _settings(settings), keep) as stack:
        if keep:
            console.print(f"stack files in {stack.workdir}")
        asyncio.run(_measured(name, measure(stack), results))


@app.command("lateness")
def lateness_command(
    cases: Annotated[int, typer.Option(help="repairs left to breach")] = 500,
    spread: Annotated[float, typer.Option(help="seconds over which they are opened")] = 300.0,
    interval: Annotated[list[float] | None, typer.Option(
        help="a baseline poller's interval in seconds (repeat)")] = None,
    seed: Annotated[int | None, typer.Option(help="of the pollers' random phases")] = None,
    deadline: Deadline = DEADLINE, setting: Settings = None, keep: Keep = False,
    results: Results = RESULTS,
) -> None:
    """Escalation lateness of caseflow and of cron pollers (60 s, 300 s) on the same deadlines."""
    intervals = tuple(interval or (60.0, 300.0))
    _alone("lateness", lambda s: module("lateness").measure(s, cases=cases, spread_seconds=spread,
                                                  intervals=intervals, seed=seed),
           deadline, setting, keep, results)


@app.command("intake")
def intake_command(
    clients: Annotated[list[int] | None, typer.Option(help="concurrent clients (repeat)")] = None,
    seconds: Annotated[float, typer.Option(help="per level")] = 20.0,
    setting: Settings = None, keep: Keep = False, results: Results = RESULTS,
) -> None:
    """Cases opened per second through the API at 1, 8 and 32 concurrent clients."""
    levels = tuple(clients or (1, 8, 32))
    _alone("intake", lambda s: module("intake").measure(s, clients=levels, seconds=seconds),
           DEADLINE, setting, keep, results)


@app.command("actions")
def actions_command(
    people: Annotated[list[int] | None, typer.Option(help="people acting at once (repeat)")]
    = None,
    cases: Annotated[int, typer.Option(help="repairs walked to closed per level")] = 50,
    setting: Settings = None, keep: Keep = False, results: Results = RESULTS,
) -> None:
    """Round trip of the steps people report (Temporal updates) through the API."""
    levels = tuple(people or (1, 8))
    _alone("actions", lambda s: module("actions").measure(s, people=levels, cases=cases),
           DEADLINE, setting, keep, results)


@app.command("floor")
def floor_command(
    rounds: Annotated[int, typer.Option(help="times each variant is walked, alternating")] = 2,
    cases: Annotated[int, typer.Option(help="bare cases walked per variant and round")] = 50,
    setting: Settings = None, keep: Keep = False, results: Results = RESULTS,
) -> None:
    """What a step costs a workflow with only the Temporal parts of caseflow's step."""
    _alone("floor", lambda s: module("floor").measure(s, rounds=rounds, cases=cases),
           DEADLINE, setting, keep, results)


@app.command("replay")
def replay_command(
    size: Annotated[list[int] | None, typer.Option(help="histories to replay (repeat)")] = None,
    cases: Annotated[int, typer.Option(help="distinct closed repairs to record first")] = 100,
    setting: Settings = None, keep: Keep = False, results: Results = RESULTS,
) -> None:
    """Histories per second replayed against today's code (100 and 1,000)."""
    sizes = tuple(size or (100, 1000))

    async def measure(stack: Stack) -> dict[str, Any]:
        replay = module("replay")
        return await replay.measure(stack, case_ids=await replay.closed_repairs(stack, cases),
                                    sizes=sizes)

    _alone("replay", measure, DEADLINE, setting, keep, results)


@app.command("capacity")
def capacity_command(
    cases: Annotated[int, typer.Option(help="open repairs with live timers")] = 10_000,
    sample: Annotated[int, typer.Option(help="short deadlines opened among them")] = 50,
    sample_seconds: Annotated[float, typer.Option(help="over which the sample is opened")] = 30.0,
    clients: Annotated[int, typer.Option(help="concurrent clients opening them")] = 32,
    deadline: Deadline = DEADLINE, setting: Settings = None, keep: Keep = False,
    results: Results = RESULTS,
) -> None:
    """Memory and timers with many open cases on one worker."""
    _alone("capacity", lambda s: module("capacity").measure(
        s, cases=cases, sample=sample, sample_seconds=sample_seconds, clients=clients),
           deadline, setting, keep, results)


@app.command("alarms")
def alarms_command(
    rate: Annotated[int, typer.Option(help="alarms a second")] = 500,
    seconds: Annotated[float, typer.Option(help="how long the burst lasts")] = 10.0,
    units: Annotated[int, typer.Option(help="units of the fleet")] = 200,
    faults: Annotated[int, typer.Option(help="fault episodes among them")] = 40,
    setting: Settings = None, keep: Keep = False, results: Results = RESULTS,
) -> None:
    """A fleet's alarm burst through POST /v1/alarms: none lost, one case per fault episode,
    how soon each episode's first alarm opens its case."""
    _alone("alarms", lambda s: module("alarms").measure(s, rate=rate, seconds=seconds,
                                                        units=units, faults=faults),
           DEADLINE, setting, keep, results)


@app.command("all")
def all_command(setting: Settings = None, results: Results = RESULTS,
                docs: Annotated[Path, typer.Option(help="page whose results block is refreshed")]
                = DOCS) -> None:
    """Every benchmark at the `make bench` sizes, then the tables in docs/performance.md.

    The actions and replay benchmarks run on the lateness stack once caseflow's escalations
    are all recorded, while the lateness run only waits for the 300 s poller's next scan; the
    floor of a step runs on the intake's stack after it."""
    from bench.stack import running_stack

    settings = _settings(setting)
    size = MAKE_BENCH
    begin = time.monotonic()

    async def intake_floor(stack: Stack) -> None:
        await _measured("intake", module("intake").measure(stack, **size["intake"]), results)
        await _measured("floor", module("floor").measure(stack, **size["floor"]), results)

    async def lateness_actions_replay(stack: Stack) -> None:
        async def meanwhile() -> None:
            walked = await _measured("actions", module("actions").measure(
                stack, **size["actions"]), results)
            await _measured("replay", module("replay").measure(
                stack, case_ids=walked["closed_case_ids"], **size["replay"]), results)

        await _measured("lateness", module("lateness").measure(
            stack, **size["lateness"], meanwhile=meanwhile), results)

    with running_stack(DEADLINE, settings) as stack:
        asyncio.run(lateness_actions_replay(stack))
    with running_stack(DEADLINE, settings) as stack:
        asyncio.run(intake_floor(stack))
    with running_stack(DEADLINE, settings) as stack:
        asyncio.run(_measured("capacity", module("capacity").measure(
            stack, **size["capacity"]), results))
    with running_stack(DEADLINE, settings) as stack:
        asyncio.run(_measured("alarms", module("alarms").measure(stack, **size["alarms"]),
                              results))
    refresh_docs(docs, results)
    console.print(f"all benchmarks in {(time.monotonic() - begin) / 60:.1f} min; "
                  f"{docs} refreshed")


@app.command("docs")
def docs_command(results: Results = RESULTS, docs: Annotated[Path, typer.Option()] = DOCS) -> None:
    """Rewrite the results block of docs/performance.md from the JSON results."""
    refresh_docs(docs, results)


def refresh_docs(docs: Path, results: Path) -> None:
    """Replace what stands between the markers of `docs` with the tables of `results`."""
    page = docs.read_text("utf-8")
    if BEGIN not in page or END not in page:
        raise typer.BadParameter(f"{docs} has no {BEGIN} ... {END} block")
    head, rest = page.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    docs.write_text(f"{head}{BEGIN}\n{results_markdown(results)}\n{END}{tail}", "utf-8")


def results_markdown(results: Path) -> str:
    parts = []
    for name in NAMES:
        path = results / f"{name}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text("utf-8"))
        grids = module(name).grids(result)
        m = result["machine"]
        parts += [grid.markdown() for grid in grids]
        parts.append(f"<sub>{name}: run {result['run_at']}, load average at start "
                     f"{' / '.join(str(x) for x in m['load_average'])}</sub>")
    if not parts:
        return "(no results yet: run `make bench`)"
    first = json.loads(next(results.glob("*.json")).read_text("utf-8"))["machine"]
    machine = (f"Machine: {first['cores']} cores ({first.get('cpu', '?')}), "
               f"{first.get('memory_gb', '?')} GB RAM, Python {first['python']}, "
               f"{first['temporal']}, {first['postgresql']}.")
    return "\n\n".join([machine, *parts])
