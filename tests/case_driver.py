"""What every test driver of a case workflow does: report a step, read the state, wait, skip time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import BaseModel
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from caseflow.domain.cases import CaseAction, StepResult
from caseflow.domain.records import Actor


class CaseDriver:
    view: ClassVar[type[BaseModel]]

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
        self.env = env
        self.handle = handle

    @property
    def case_id(self) -> str:
        return self.handle.id

    async def act(self, action: str, actor: Actor, update_id: str | None = None,
                  **payload: Any) -> Any:
        """Take a step; the case as it then stands (the update answers with the step's number
        and the status only, the view is read by query as the API does)."""
        await self.step(action, actor, update_id, **payload)
        return await self.state()

    async def step(self, action: str, actor: Actor, update_id: str | None = None,
                   **payload: Any) -> StepResult:
        """Take a step: what the update itself answers."""
        return await self.handle.execute_update(
            "act", CaseAction(action=action, actor=actor, payload=payload), id=update_id,
            result_type=StepResult)

    async def state(self) -> Any:
        return await self.handle.query("state", result_type=self.view)

    async def result(self) -> Any:
        """The workflow's result. Time skipping is off while waiting: with nothing else due,
        the test server would jump to the farthest timer it holds (years ahead)."""
        with self.env.auto_time_skipping_disabled():
            return await self.handle.result()

    async def sleep(self, **delta: float) -> None:
        await self.env.sleep(timedelta(**delta))
