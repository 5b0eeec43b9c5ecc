"""Drives a ComplaintWorkflow in tests: record it from the demo data, report steps."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from caseflow.domain.cases import CODE_VERSION
from caseflow.domain.complaint import (
    ComplaintCreate,
    ComplaintStart,
    ComplaintView,
)
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import Actor
from caseflow.workflows.complaint import ComplaintWorkflow
from tests.case_driver import CaseDriver
from tests.repair_driver import ENGINEER, HOTLINE, SUPERVISOR

MANAGER = Actor(id="MG-01", name="赵敏", role="manager")


def complaint_intake(**extra: Any) -> ComplaintCreate:
    values: dict[str, Any] = dict(
        complainant_name="王女士", complainant_contact="13812345678", channel="front_desk",
        hospital_id="H-DH", matter="工程师到场后态度冷淡,维修拖延两天", staff_involved=["张伟"],
        request="希望说明原因并道歉", category="service_attitude")
    values.update(extra)
    return ComplaintCreate.model_validate(values)


class ComplaintDriver(CaseDriver):
    view = ComplaintView

    @classmethod
    async def open(cls, env: WorkflowEnvironment, queue: str, book: PolicyBook,
                   **intake_fields: Any) -> ComplaintDriver:
        now: datetime = await env.get_current_time()
        case_id = f"TC-{uuid.uuid4().hex[:12]}"
        start = ComplaintStart(case_id=case_id, intake=complaint_intake(**intake_fields),
                               hospital_name="东湖县人民医院", policy=book.pin(None, now, "complaint"),
                               opened_by=HOTLINE, version=CODE_VERSION)
        handle = await env.client.start_workflow(ComplaintWorkflow.run, start, id=case_id,
                                                 task_queue=queue)
        return cls(env, handle)

    async def due_in(self, **delta: float) -> str:
        """An ISO due date `delta` from the case's clock (for corrective actions)."""
        return (await self.env.get_current_time() + timedelta(**delta)).isoformat()

    async def walk_to_answered(self, *, action_days: float = 3) -> ComplaintView:
        """Feedback, team, findings, root cause, a one-action plan, briefing, answer."""
        await self.act("first-feedback", HOTLINE, note="已受理,将在10日内答复")
        await self.act("form-team", SUPERVISOR, members=[
            {"name": "李强", "role": "technician"}, {"name": "周芳", "role": "quality_control"}])
        await self.act("record-findings", SUPERVISOR, facts="工程师当日排队任务过多",
                       evidence=[{"name": "派工记录", "ref": "dispatch/2026-11-20.pdf"}])
        await self.act("root-cause", SUPERVISOR, root_cause="派工未考虑工程师负荷")
        await self.act("plan", SUPERVISOR, summary="调整派工规则并培训", actions=[
            {"description": "派工系统增加负荷上限", "owner_id": "EN-01", "owner_name": "张伟",
             "due_at": await self.due_in(days=action_days)}])
        await self.act("brief", SUPERVISOR, summary="科室内部通报", attendees=["李强", "张伟"])
        return await self.act("answer", HOTLINE, answer="已查明原因并整改,向您致歉")


__all__ = ["ENGINEER", "HOTLINE", "MANAGER", "SUPERVISOR", "ComplaintDriver",
           "complaint_intake"]
