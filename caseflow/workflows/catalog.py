"""Every workflow of caseflow and the sandboxes they run in: for the worker that runs them and
the replayer that checks them (neither needs the other)."""

from __future__ import annotations

import functools
import importlib
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance

from caseflow.domain.kinds import KINDS
from caseflow.workflows.maintenance_plan import MaintenancePlanWorkflow
from caseflow.workflows.policy_migration import PolicyMigrationWorkflow
from caseflow.workflows.report_job import ReportJobWorkflow
from caseflow.workflows.uptime import UptimeGuardWorkflow

# The workflows that are not a kind of case.
SERVICES = [MaintenancePlanWorkflow, UptimeGuardWorkflow, ReportJobWorkflow,
            PolicyMigrationWorkflow]


def workflows() -> list[type]:
    """Every workflow: each registered kind's (its class, named as its workflow type, in its
    module) and the services'."""
    kinds = [getattr(importlib.import_module(kind.workflow_module), kind.workflow)
             for kind in KINDS.values()]
    return [*kinds, *SERVICES]


PURE = ("caseflow.domain", "pydantic", "pydantic_core", "annotated_types")


def sandbox(kind: str = "full") -> SandboxedWorkflowRunner:
    """"full" passes only pure data through (our domain models, pydantic): every workflow
    module is imported afresh for each case and the sandbox checks all of it, as the SDK means
    it; what replay (caseflow replay, the audit API, CI) always uses. "passthrough" imports
    `caseflow.workflows` once as well, sparing each case that work (docs/performance.md),
    while each case still runs in a sandbox of its own: what the production worker uses."""
    modules = PURE if kind == "full" else (*PURE, "caseflow.workflows")
    return CompiledOnceRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules))


class CompiledOnceRunner(SandboxedWorkflowRunner):
    """The SDK's sandbox, unchanged but for one thing: the few snippets of code it runs inside a
    case's sandbox (import the workflow class, activate, give the serialization context of a
    payload) are compiled once per process rather than by `exec` at every call. That compiling
    was 8% of the worker's CPU per step (py-spy, docs/performance.md); the snippets, the
    sandbox's importer and restrictions, and what runs are the SDK's own."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnce(det, self.runner_class, self.restrictions)


class _CompiledOnce(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        super()._run_code(_compiled(code), **extra_globals)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=512)
def _compiled(code: str) -> CodeType:
    """`code` compiled as `exec` compiles a string (a few distinct snippets per workflow class)."""
    return compile(code, "<string>", "exec")
