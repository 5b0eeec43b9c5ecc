"""PolicyMigrationWorkflow: moving the open cases of a preview to another policy (id = the
migration's id, `PM-...`; docs/sla-policy.md "Changing the policy of open cases").

A batch at a time: the database names the next cases still pending, an activity per case sends
it the `migrate_policy` update and writes its result (migrated, left alone and why, refused),
then the workflow waits as long as the rate allows. Whatever restarts, a case still pending is
asked again and a case answers a migration it has taken already with "moved before", so none is
migrated twice. The workflow continues as new every `CHAIN` batches to stay small.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from caseflow.domain.migration import (
        FINISH_MIGRATION,
        MIGRATE_CASE,
        NEXT_CASES,
        CaseAsk,
        CaseResult,
        MigrationRun,
        NextCases,
    )

CHAIN = 50  # batches per run
ALWAYS = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@workflow.defn
class PolicyMigrationWorkflow:
    def __init__(self) -> None:
        self.done = 0

    @workflow.run
    async def run(self, run: MigrationRun) -> str:
        for _ in range(CHAIN):
            cases: list[str] = await workflow.execute_activity(
                NEXT_CASES, NextCases(migration_id=run.migration_id, limit=run.batch),
                result_type=list[str], start_to_close_timeout=timedelta(seconds=30),
                retry_policy=ALWAYS)
            if not cases:
                await workflow.execute_activity(
                    FINISH_MIGRATION, run.migration_id,
                    start_to_close_timeout=timedelta(seconds=30), retry_policy=ALWAYS)
                return "done"
            began = workflow.now()
            await asyncio.gather(*(workflow.execute_activity(
                MIGRATE_CASE, CaseAsk(migration_id=run.migration_id, case_id=case_id),
                result_type=CaseResult, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=ALWAYS) for case_id in cases))
            self.done += len(cases)
            spent = workflow.now() - began
            pace = timedelta(seconds=len(cases) * 60 / run.per_minute)
            if spent < pace:
                await workflow.sleep(pace - spent)
        workflow.continue_as_new(run.model_copy(update={"batches": run.batches + CHAIN}))

    @workflow.query
    def progress(self) -> int:
        """Cases this run has handled (the database has the results of every run)."""
        return self.done
