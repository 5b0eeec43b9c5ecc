"""ReportJobWorkflow: a report made in the background (id = the job's id, `RJ-...`).

A report over a large fleet is many units' years: the workflow computes them a chunk at a time
(each chunk an activity that keeps its parts in the database and moves the job's progress),
then renders the report once. A worker that dies mid-way costs the chunk in hand, not the
report; the HTTP request that asked for it returned at once with the job to follow.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from caseflow.domain.annual import (
        FAIL_REPORT,
        PLAN_REPORT,
        RENDER_REPORT,
        REPORT_PART,
        JobFailure,
        JobPlan,
        JobStep,
    )

WORK = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)
ALWAYS = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn
class ReportJobWorkflow:
    @workflow.run
    async def run(self, job_id: str) -> str:
        as_of = workflow.now()
        try:
            plan: JobPlan = await workflow.execute_activity(
                PLAN_REPORT, JobStep(job_id=job_id, as_of=as_of), result_type=JobPlan,
                start_to_close_timeout=timedelta(minutes=1), retry_policy=WORK)
            for chunk in plan.chunks:
                await workflow.execute_activity(
                    REPORT_PART, JobStep(job_id=job_id, as_of=as_of, keys=chunk),
                    start_to_close_timeout=timedelta(minutes=10),
                    heartbeat_timeout=timedelta(minutes=2), retry_policy=WORK)
            await workflow.execute_activity(
                RENDER_REPORT, JobStep(job_id=job_id, as_of=as_of),
                start_to_close_timeout=timedelta(minutes=10), retry_policy=WORK)
        except ActivityError as error:
            cause = error.cause if error.cause is not None else error
            await workflow.execute_activity(
                FAIL_REPORT, JobFailure(job_id=job_id, error=str(cause)),
                start_to_close_timeout=timedelta(seconds=30), retry_policy=ALWAYS)
            return "failed"
        return "done"
