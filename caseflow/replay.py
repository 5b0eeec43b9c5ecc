"""Replaying saved workflow histories against today's code: what auditors and CI run."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from caseflow.worker import WORKFLOWS, sandbox_runner


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter,
                    workflow_runner=sandbox_runner())


async def replay_files(files: list[Path], console: Console) -> int:
    """Replay each file; print OK or the divergence; return the number of failures."""
    failures = 0
    engine = replayer()
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text("utf-8"))
        result = await engine.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is None:
            console.print(f"[green]OK[/]   {path}")
        else:
            failures += 1
            console.print(f"[red]FAIL[/] {path}: {result.replay_failure}")
    return failures
