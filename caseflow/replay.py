"""Replaying workflow histories against today's code: what auditors and CI run.

A history comes from a file (our `/history` or `/export`, or the file `temporal workflow show
--output json` writes), from Temporal by case id, or for every closed case of a kind in a time
range. Each replays to OK, or to the first divergence: the event it is at, and why, in words.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from caseflow.store.models import Case
from caseflow.worker import WORKFLOWS, sandbox_runner

QUOTED = re.compile(r"'([^']+)'")
MESSAGE = re.compile(r'message: "(.*?)", source')


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter,
                    workflow_runner=sandbox_runner())


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


def divergence(failure: BaseException, history: dict[str, Any]) -> tuple[int | None, str | None,
                                                                        str]:
    """The readable reason of a replay failure, and the history event it points at: the first
    event holding the name the history has where the code wants another."""
    text = str(failure)
    found = MESSAGE.search(text)
    reason = (found.group(1) if found else text).replace('\\"', '"')
    reason = re.sub(r"^\[TMPRL\d+\]\s*", "", reason)
    for name in QUOTED.findall(reason):
        for event in history.get("events", []):
            if name in json.dumps(event, ensure_ascii=False):
                return int(event.get("eventId", 0)) or None, str(event.get("eventType", "")), reason
    return None, None, reason


def _load(name: str, history: dict[str, Any]) -> WorkflowHistory | Outcome:
    """The history to replay, or the failure of one that is not a workflow history."""
    try:
        return WorkflowHistory.from_json(name, json.dumps(history, ensure_ascii=False))
    except Exception as error:
        return Outcome(name, False, reason=f"not a workflow history: {error}")


def _outcome(name: str, history: dict[str, Any], failure: BaseException | None) -> Outcome:
    return Outcome(name, True) if failure is None else \
        Outcome(name, False, *divergence(failure, history))


async def replay_one(engine: Replayer, name: str, history: dict[str, Any]) -> Outcome:
    loaded = _load(name, history)
    if isinstance(loaded, Outcome):
        return loaded
    result = await engine.replay_workflow(loaded, raise_on_replay_failure=False)
    return _outcome(name, history, result.replay_failure)


def read_history(path: Path) -> tuple[str, dict[str, Any]]:
    """(name, history) from a file: an export (`case_id` + `history`) or a bare history."""
    data = json.loads(path.read_text("utf-8"))
    if isinstance(data, dict) and "history" in data and "case_id" in data:
        return str(data["case_id"]), data["history"]
    return str(path), data


async def files(paths: Iterable[Path]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    for path in paths:
        for found in sorted(path.glob("*.json")) if path.is_dir() else [path]:
            yield read_history(found)


async def cases(client: Client, case_ids: Iterable[str]) -> AsyncIterator[tuple[str,
                                                                              dict[str, Any]]]:
    for case_id in case_ids:
        history = await client.get_workflow_handle(case_id).fetch_history()
        yield case_id, history.to_json_dict()


def closed_cases(sessions: sessionmaker[Session], kind: str, start: datetime,
                 end: datetime) -> list[str]:
    """Every case of `kind` closed in [start, end), oldest first."""
    with sessions() as session:
        return [c for c in session.scalars(select(Case.case_id).where(
            Case.kind == kind, Case.closed_at >= start, Case.closed_at < end)
            .order_by(Case.closed_at)) if c]


async def replay_all(items: AsyncIterator[tuple[str, dict[str, Any]]], console: Console,
                     total: int | None = None) -> int:
    """Replay each history; print OK or the first divergence; return the number of failures.
    One replayer takes the whole stream (a replayer per history would start a worker for each);
    a progress bar shows the way through many."""
    failures = 0
    fed: deque[tuple[str, dict[str, Any]]] = deque()  # results come back in the order fed
    with Progress(console=console, transient=True, disable=(total or 0) < 5) as progress:
        task = progress.add_task("replaying", total=total)

        def report(outcome: Outcome) -> None:
            nonlocal failures
            failures += not outcome.ok
            progress.console.print(outcome.line())
            progress.advance(task)

        async def histories() -> AsyncIterator[WorkflowHistory]:
            async for name, history in items:
                loaded = _load(name, history)
                if isinstance(loaded, Outcome):
                    report(loaded)
                    continue
                fed.append((name, history))
                yield loaded

        async with replayer().workflow_replay_iterator(histories()) as results:
            async for result in results:
                report(_outcome(*fed.popleft(), result.replay_failure))
    return failures


async def replay_files(paths: list[Path], console: Console) -> int:
    found = [f for p in paths for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    return await replay_all(files(found), console, total=len(found))
