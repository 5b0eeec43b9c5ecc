"""Every workflow of caseflow and the sandboxes they run in: for the worker that runs them and
the replayer that checks them (neither needs the other)."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from caseflow.workflows.complaint import ComplaintWorkflow
from caseflow.workflows.emergency import EmergencyResponseWorkflow
from caseflow.workflows.installation import InstallationAcceptanceWorkflow
from caseflow.workflows.maintenance import MaintenanceVisitWorkflow
from caseflow.workflows.maintenance_plan import MaintenancePlanWorkflow
from caseflow.workflows.policy_migration import PolicyMigrationWorkflow
from caseflow.workflows.repair import RepairWorkflow
from caseflow.workflows.report_job import ReportJobWorkflow
from caseflow.workflows.uptime import UptimeGuardWorkflow

WORKFLOWS = [RepairWorkflow, ComplaintWorkflow, EmergencyResponseWorkflow,
             InstallationAcceptanceWorkflow, MaintenancePlanWorkflow, MaintenanceVisitWorkflow,
             UptimeGuardWorkflow, ReportJobWorkflow, PolicyMigrationWorkflow]
PURE = ("caseflow.domain", "pydantic", "pydantic_core", "annotated_types")


def sandbox(kind: str = "full") -> SandboxedWorkflowRunner:
    """"full" passes only pure data through (our domain models, pydantic): every workflow
    module is imported afresh for each case and the sandbox checks all of it, as the SDK means
    it; what replay (caseflow replay, the audit API, CI) always uses. "passthrough" imports
    `caseflow.workflows` once as well, sparing each case that work (docs/performance.md),
    while each case still runs in a sandbox of its own: what the production worker uses."""
    modules = PURE if kind == "full" else (*PURE, "caseflow.workflows")
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules))
