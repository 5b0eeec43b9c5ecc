"""Preview and apply a policy migration of open cases (docs/sla-policy.md "Changing the policy
of open cases"): what the API's /v1/policy/migrations and `caseflow policy-migration` share.

A preview asks each selected open case what moving would change (a query: nothing changes) and
stores it; applying it checks that neither the policy in force nor any case changed since, then
starts the migration workflow (workflows/policy_migration.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from temporalio.client import Client
from temporalio.service import RPCError

from caseflow.domain import migration as m
from caseflow.domain.policy_loader import PolicyBook, parse_text
from caseflow.store import policy_migrations as store
from caseflow.store.db import Db, unit
from caseflow.store.models import Case
from caseflow.workflows.policy_migration import PolicyMigrationWorkflow

ASKING = 16  # cases asked for their preview at once


class TemporalAway(Exception):
    """Temporal did not answer (the caller may retry)."""


async def _previews(temporal: Client, book: PolicyBook,
                    cases: list[tuple[Case, str | None]]) -> list[tuple[Case, m.CasePreview]]:
    gate = asyncio.Semaphore(ASKING)

    async def one(case: Case, contract: str | None) -> tuple[Case, m.CasePreview]:
        policy = book.pin(contract, case.opened_at, case.kind)
        async with gate:
            try:
                preview = await temporal.get_workflow_handle(case.case_id or "").query(
                    "preview_policy", policy, result_type=m.CasePreview)
            except RPCError as error:
                raise TemporalAway(f"Temporal did not answer for {case.case_id}: "
                                   f"{error.message}") from None
        return case, preview

    return list(await asyncio.gather(*(one(case, contract) for case, contract in cases)))


async def preview(db: Db, temporal: Client, chosen: PolicyBook, in_force: PolicyBook,
                  selection: m.Selection, by: str) -> m.MigrationView:
    """Preview moving the selected open cases to `chosen`, and keep the preview."""
    book = parse_text(chosen.text, "candidate")  # as the migration reads it back
    found = await asyncio.to_thread(unit, db, store.open_cases, selection)
    previews = await _previews(temporal, book, found)
    return await asyncio.to_thread(
        unit, db, store.kept_preview, policy_text=book.text, policy_version=book.version,
        in_force_version=in_force.version, selection=selection, by=by,
        now=datetime.now(timezone.utc), previews=previews)


async def apply(db: Db, temporal: Client, task_queue: str, migration_id: str, *, reason: str,
                per_minute: int, by: str, in_force: PolicyBook) -> m.MigrationView:
    """Start moving the cases of a preview. InvalidTransition if it was applied already, or if
    the policy in force or any of its cases changed since the preview."""
    view = await asyncio.to_thread(unit, db, store.claim, migration_id, reason=reason,
                                   per_minute=per_minute, by=by,
                                   in_force_version=in_force.version,
                                   now=datetime.now(timezone.utc))
    try:
        await temporal.start_workflow(
            PolicyMigrationWorkflow.run,
            m.MigrationRun(migration_id=migration_id, per_minute=per_minute),
            id=migration_id, task_queue=task_queue,
            static_summary=f"政策迁移 {migration_id}")
    except RPCError as error:
        await asyncio.to_thread(unit, db, store.release, migration_id)
        raise TemporalAway(f"Temporal did not answer: {error.message}") from None
    return view
