"""Replaying workflow histories against today's code: what auditors and CI run.

A history comes from a file (our `/history` or `/export`, or the file `temporal workflow show
--output json` writes), from Temporal by case id (every run of the case, oldest first: a long
case continues as new), or for every closed case of a kind in a time range. Each run replays to
OK, or to the first divergence: the event it is at, and why, in words.

Replay always runs in the full workflow sandbox (whatever the production worker passes
through), so code that reads the clock or does I/O is caught where auditors and CI look. With
`jobs` > 1 that many processes replay at once, each with one replayer for its share; a history
fetched from Temporal reaches them as its protobuf, never through JSON.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Interceptor, Replayer

from caseflow.store.models import Case
from caseflow.temporal import DATA_CONVERTER
from caseflow.workflows.catalog import sandbox, workflows

QUOTED = re.compile(r"'([^']+)'")
MESSAGE = re.compile(r'message: "(.*?)", source')
CHUNK = 16  # histories a process replays with one replayer before it reports back


def replayer(interceptors: Sequence[Interceptor] = ()) -> Replayer:
    return Replayer(workflows=workflows(), data_converter=DATA_CONVERTER,
                    workflow_runner=sandbox("full", DATA_CONVERTER),
                    interceptors=interceptors)


@dataclass(frozen=True)
class Outcome:
    """One history replayed: OK, or the first divergence."""

    name: str
    ok: bool
    event_id: int | None = None
    event_type: str | None = None
    reason: str = ""

    def line(self) -> str:
        if self.ok:
            return f"[green]OK[/]   {self.name}"
        where = f" at event {self.event_id} ({self.event_type})" if self.event_id else ""
        return f"[red]FAIL[/] {self.name}{where}: {self.reason}"


Item = tuple[str, WorkflowHistory | Outcome]  # a history to replay, or why it cannot be


def divergence(failure: BaseException, history: dict[str, Any]) -> tuple[int | None, str | None,
                                                                        str]:
    """The readable reason of a replay failure, and the history event it points at: the first
    event holding the name the history has where the code wants another."""
    text = str(failure)
    found = MESSAGE.search(text)
    reason = (found.group(1) if found else text).replace('\\"', '"')
    reason = re.sub(r"^\[TMPRL\d+\]\s*", "", reason).strip()
    for name in QUOTED.findall(reason):
        for event in history.get("events", []):
            if name in _text(event):
                return int(event.get("eventId", 0)) or None, str(event.get("eventType", "")), reason
    return None, None, reason


def _text(event: dict[str, Any]) -> str:
    """An event as text to look for a name in, a marker's payloads decoded (a local activity's
    marker names its activity type inside its base64 data)."""
    text = json.dumps(event, ensure_ascii=False)
    details = (event.get("markerRecordedEventAttributes") or {}).get("details") or {}
    for payloads in details.values():
        for payload in payloads.get("payloads", []):
            try:
                text += base64.b64decode(payload.get("data", "")).decode("utf-8", "replace")
            except ValueError:
                continue
    return text


def load(name: str, history: dict[str, Any] | str) -> WorkflowHistory | Outcome:
    """A history read from JSON, or the failure of one that is not a workflow history."""
    try:
        return WorkflowHistory.from_json(name, history)
    except Exception as error:
        return Outcome(name, False, reason=f"not a workflow history: {error}")


def outcome(name: str, history: WorkflowHistory, failure: BaseException | None) -> Outcome:
    """OK, or where and why; the history is turned to JSON only to point at the event."""
    return Outcome(name, True) if failure is None else \
        Outcome(name, False, *divergence(failure, history.to_json_dict()))


async def replay_one(engine: Replayer, name: str,
                     history: WorkflowHistory | dict[str, Any]) -> Outcome:
    loaded = history if isinstance(history, WorkflowHistory) else load(name, history)
    if isinstance(loaded, Outcome):
        return loaded
    result = await engine.replay_workflow(loaded, raise_on_replay_failure=False)
    return outcome(name, loaded, result.replay_failure)


async def replay_case(client: Client, case_id: str) -> Outcome:
    """Every run of a case, oldest first: OK, or the first run that diverges."""
    engine = replayer()
    runs = await case_runs(client, case_id)
    for index, history in enumerate(runs, start=1):
        found = await replay_one(engine, run_name(case_id, index, len(runs)), history)
        if not found.ok:
            return found
    return Outcome(run_name(case_id, len(runs), len(runs)) if len(runs) > 1 else case_id, True)


# ----- where histories come from --------------------------------------------------------------

def run_name(case_id: str, index: int, total: int) -> str:
    return case_id if total == 1 else f"{case_id} (run {index} of {total})"


async def case_runs(client: Client, case_id: str) -> list[WorkflowHistory]:
    """The history of every run of a case, oldest first: from the run in force back along
    each run's `continued_execution_run_id` (exact on every server, no visibility lag)."""
    runs: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(case_id, run_id=run_id).fetch_history()
        runs.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return runs[::-1]


def read_history(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(name, history) of each run in a file: an export (`case_id` with `history`, or with
    `histories` for a case of several runs) or a bare history."""
    data = json.loads(path.read_text("utf-8"))
    if isinstance(data, dict) and "case_id" in data and isinstance(data.get("histories"), list):
        runs = data["histories"]
        return [(run_name(str(data["case_id"]), i, len(runs)), run)
                for i, run in enumerate(runs, start=1)]
    if isinstance(data, dict) and "history" in data and "case_id" in data:
        return [(str(data["case_id"]), data["history"])]
    return [(str(path), data)]


def file_paths(paths: Iterable[Path]) -> list[Path]:
    return [f for p in paths for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]


async def files(paths: Iterable[Path]) -> AsyncIterator[Item]:
    for path in file_paths(paths):
        for name, history in read_history(path):
            yield name, load(name, history)


async def cases(client: Client, case_ids: Iterable[str]) -> AsyncIterator[Item]:
    for case_id in case_ids:
        runs = await case_runs(client, case_id)
        for index, history in enumerate(runs, start=1):
            yield run_name(case_id, index, len(runs)), history


def closed_cases(sessions: sessionmaker[Session], kind: str, start: datetime,
                 end: datetime) -> list[str]:
    """Every case of `kind` closed in [start, end), oldest first."""
    with sessions() as session:
        return [c for c in session.scalars(select(Case.case_id).where(
            Case.kind == kind, Case.closed_at >= start, Case.closed_at < end)
            .order_by(Case.closed_at)) if c]


# ----- replaying many -------------------------------------------------------------------------

def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


async def replay_all(items: AsyncIterator[Item], console: Console, total: int | None = None,
                     jobs: int = 1, progress_to: Console | None = None) -> int:
    """Replay each history; print OK or the first divergence on `console`, in the order given;
    return the number of failures. One process streams everything through one replayer (a
    replayer per history would start a worker for each); `jobs` > 1 spreads chunks over that
    many processes. A progress bar on `progress_to` (default `console`) shows the way through
    many."""
    failures = 0
    with Progress(console=progress_to or console, transient=True,
                  disable=(total or 0) < 5) as progress:
        task = progress.add_task("replaying", total=total)

        def report(found: Outcome) -> None:
            nonlocal failures
            failures += not found.ok
            console.print(found.line())
            progress.advance(task)

        if jobs <= 1:
            await _stream(items, report)
        else:
            with pool(jobs) as executor:
                await _spread(items, report, executor, jobs)
    return failures


async def _stream(items: AsyncIterator[Item], report: Any) -> None:
    fed: deque[tuple[str, WorkflowHistory]] = deque()  # results come back in the order fed

    async def histories() -> AsyncIterator[WorkflowHistory]:
        async for name, history in items:
            if isinstance(history, Outcome):
                report(history)
                continue
            fed.append((name, history))
            yield history

    async with replayer().workflow_replay_iterator(histories()) as results:
        async for result in results:
            name, history = fed.popleft()
            report(outcome(name, history, result.replay_failure))


def pool(jobs: int) -> ProcessPoolExecutor:
    """Processes forked from a fresh server process that has imported the workflows once (no
    threads of ours are copied, and a process starts in milliseconds)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["caseflow.replay"])
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context)


async def _spread(items: AsyncIterator[Item], report: Any, executor: Executor,
                  jobs: int) -> None:
    """Chunks of serialized histories to the processes, at most two per process in flight;
    outcomes reported in the order the histories came."""
    loop = asyncio.get_running_loop()
    in_flight: deque[asyncio.Future[list[Outcome]] | list[Outcome]] = deque()
    chunk: list[tuple[str, bytes]] = []

    async def drain(limit: int) -> None:
        while len(in_flight) > limit:
            for found in await _ready(in_flight.popleft()):
                report(found)

    def send() -> None:
        in_flight.append(loop.run_in_executor(executor, replay_serialized, list(chunk)))
        chunk.clear()

    async for name, history in items:
        if isinstance(history, Outcome):
            send() if chunk else None
            in_flight.append([history])
        else:
            chunk.append((name, History(events=history.events).SerializeToString()))
            if len(chunk) >= CHUNK:
                send()
        await drain(2 * jobs)
    if chunk:
        send()
    await drain(0)


async def _ready(entry: asyncio.Future[list[Outcome]] | list[Outcome]) -> list[Outcome]:
    return entry if isinstance(entry, list) else await entry


_ENGINE: Replayer | None = None  # one per replaying process


def replay_serialized(chunk: list[tuple[str, bytes]]) -> list[Outcome]:
    """In a replaying process: replay serialized histories with this process's replayer."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = replayer()
    engine = _ENGINE
    histories = [(name, WorkflowHistory(name, History.FromString(data).events))
                 for name, data in chunk]

    async def run() -> list[Outcome]:
        async def feed() -> AsyncIterator[WorkflowHistory]:
            for _, history in histories:
                yield history

        found = []
        async with engine.workflow_replay_iterator(feed()) as results:
            async for (name, history), result in _zip(histories, results):
                found.append(outcome(name, history, result.replay_failure))
        return found

    return asyncio.run(run())


async def _zip(histories: list[tuple[str, WorkflowHistory]],
               results: AsyncIterator[Any]) -> AsyncIterator[tuple[tuple[str, WorkflowHistory],
                                                                   Any]]:
    index = 0
    async for result in results:
        yield histories[index], result
        index += 1


async def replay_files(paths: list[Path], console: Console, jobs: int = 1,
                       progress_to: Console | None = None) -> int:
    return await replay_all(files(paths), console, total=len(file_paths(paths)), jobs=jobs,
                            progress_to=progress_to)
