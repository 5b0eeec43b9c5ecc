"""Every workflow of caseflow and the sandboxes they run in: for the worker that runs them and
the replayer that checks them (neither needs the other)."""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from types import CodeType
from typing import Any

from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    StorageDriverStoreContext,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
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


def sandbox(kind: str = "full", data_converter: DataConverter | None = None,
            ) -> SandboxedWorkflowRunner:
    """"full" passes only pure data through (our domain models, pydantic): every workflow
    module is imported afresh for each case and the sandbox checks all of it, as the SDK means
    it; what replay (caseflow replay, the audit API, CI) always uses. "passthrough" imports
    `caseflow.workflows` once as well, sparing each case that work (docs/performance.md),
    while each case still runs in a sandbox of its own: what the production worker uses.

    `data_converter`: the one the worker or replayer converts payloads with. If it writes the
    same payloads whatever the serialization context (`context_free`), a case is not asked for
    a payload's context, which the SDK does by entering the case's sandbox for every payload
    it encodes or decodes."""
    modules = PURE if kind == "full" else (*PURE, "caseflow.workflows")
    return CompiledOnceRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules),
        ask_contexts=data_converter is None or not context_free(data_converter))


def context_free(converter: DataConverter) -> bool:
    """Whether `converter` ignores serialization contexts: none of its parts (payload
    converter, codec, failure converter) takes one, of a workflow or of an activity, and it
    stores no payload outside."""
    probes = (WorkflowSerializationContext(namespace="", workflow_id=""),
              ActivitySerializationContext(namespace="", activity_id=None, activity_type=None,
                                           activity_task_queue=None, workflow_id=None,
                                           workflow_type=None, is_local=False))
    return converter.external_storage is None and all(
        converter.with_context(probe) is converter for probe in probes)


@dataclass(frozen=True)
class CompiledOnceRunner(SandboxedWorkflowRunner):
    """The SDK's sandbox, unchanged but for one thing: the few snippets of code it runs inside a
    case's sandbox (import the workflow class, activate, give the serialization context of a
    payload) are compiled once per process rather than by `exec` at every call. That compiling
    was 8% of the worker's CPU per step (py-spy, docs/performance.md); the snippets, the
    sandbox's importer and restrictions, and what runs are the SDK's own. And `ask_contexts`
    False (a converter that ignores contexts, `sandbox`) spares entering a case's sandbox for
    each payload's serialization context."""

    ask_contexts: bool = True

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = _CompiledOnce(det, self.runner_class, self.restrictions)
        instance.ask_contexts = self.ask_contexts
        return instance


class _CompiledOnce(_Instance):
    ask_contexts = True

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        super()._run_code(_compiled(code), **extra_globals)  # type: ignore[arg-type]

    # The SDK asks the case (inside its sandbox) for the context of every payload it encodes or
    # decodes; with a converter that ignores contexts the answer changes nothing, so it is not
    # asked (5-6% of the worker's CPU per step, docs/performance.md). None is "no context",
    # and the SDK then converts with the worker's converter as it is.
    def get_serialization_context(self, command_info: CommandInfo | None) -> Any:
        return super().get_serialization_context(command_info) if self.ask_contexts else None

    def get_external_store_context(self, command_info: CommandInfo | None,
                                   ) -> StorageDriverStoreContext:
        if self.ask_contexts:
            return super().get_external_store_context(command_info)
        return StorageDriverStoreContext(target=None)


@functools.lru_cache(maxsize=512)
def _compiled(code: str) -> CodeType:
    """`code` compiled as `exec` compiles a string (a few distinct snippets per workflow class)."""
    return compile(code, "<string>", "exec")
