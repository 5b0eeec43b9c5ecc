"""Invariants every case keeps, checked inside the workflows while tests run and while saved
histories replay (a worker or replayer interceptor).

No case without a clock (docs/sla-policy.md): until a case reaches a final status, at least one
of its commitments is open (running or paused). Checked each time a case records what happened
(a step, its intake, a rung: the moments its state is complete) and after every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

RECORDING = {"record_case_events", "record_case_event", "record_escalation"}


@dataclass(frozen=True)
class Violation:
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    at: str  # what the case was doing: an activity's name or "after <update>"

    def __str__(self) -> str:
        return (f"{self.workflow_type} {self.workflow_id} (run {self.run_id}) in status "
                f"{self.status!r} has no open commitment ({self.at})")


# Violations seen in this process (the interceptor runs in the worker or replayer of the test
# process; a test or a fixture reads and clears it).
SEEN: list[Violation] = []


def check(at: str) -> None:
    case = workflow.instance()
    deadlines = getattr(case, "deadlines", None)
    if deadlines is None or not hasattr(type(case), "closed"):
        return  # not a case (the maintenance plan, a report job, the uptime guard)
    if getattr(case, "case_id", None) is None or case.closed:
        return
    if any(c.is_open for c in deadlines.commitments.values()):
        return
    info = workflow.info()
    SEEN.append(Violation(info.workflow_id, info.run_id, info.workflow_type,
                          str(getattr(case, "status", "?")), at))


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        if input.activity in RECORDING:
            check(input.activity)
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        if input.activity in RECORDING:
            check(input.activity)
        return super().start_local_activity(input)


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        result = await super().handle_update_handler(input)
        check(f"after {input.update}")
        return result


class OpenCommitmentWatch(Interceptor):
    """Records in `SEEN` every moment a case that is not final has no open commitment."""

    def workflow_interceptor_class(
            self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound
