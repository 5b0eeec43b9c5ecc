"""Drives an EmergencyResponseWorkflow in tests: a hospital of its own with an on-call roster,
a declaration, steps, and waiting for the pages the workflow sends by itself."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from caseflow.domain.cases import CODE_VERSION
from caseflow.domain.emergency import EmergencyCreate, EmergencyStart, EmergencyView
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import Actor
from caseflow.domain.repair import EquipmentSnapshot
from caseflow.store.models import Hospital, OnCallShift
from caseflow.workflows.emergency import EmergencyResponseWorkflow
from tests.case_driver import CaseDriver

HOTLINE = Actor(id="HL-01", name="王丽", role="hotline")
EN1 = Actor(id="EN-01", name="张伟", role="engineer")
EN2 = Actor(id="EN-02", name="陈静", role="engineer")
EN3 = Actor(id="EN-03", name="刘洋", role="engineer")
SUPERVISOR = Actor(id="SV-01", name="李强", role="supervisor")
MANAGER = Actor(id="MG-01", name="赵敏", role="manager")
DIRECTOR = Actor(id="DR-01", name="孙杰", role="director")
AUDITOR = Actor(id="AU-01", name="周芳", role="auditor")
# The chain of DOMAIN.md section 4: engineer -> supervisor -> service manager -> director.
CHAIN = (EN1, SUPERVISOR, MANAGER, DIRECTOR)


def new_hospital(sessions, chain: tuple[Actor, ...] = CHAIN, modality: str = "CT",  # type: ignore[no-untyped-def]
                 start: datetime | None = None, days: int = 3650) -> str:
    """A hospital of the test's own, with `chain` on call (level 1 first) for `days` from
    `start` (default: a day ago), so no other test's roster or cases get in the way."""
    hospital_id = f"H-T{uuid.uuid4().hex[:10]}"
    begin = start or datetime.now().astimezone() - timedelta(days=1)
    with sessions.begin() as session:
        session.add(Hospital(id=hospital_id, name="测试医院 test hospital"))
        session.flush()
        for level, person in enumerate(chain, start=1):
            session.add(OnCallShift(hospital_id=hospital_id, modality=modality, level=level,
                                    person_id=person.id, starts_at=begin,
                                    ends_at=begin + timedelta(days=days), updated_by="test"))
    return hospital_id


def declaration(hospital_id: str, **extra: Any) -> EmergencyCreate:
    values: dict[str, Any] = dict(
        hospital_id=hospital_id, equipment_serial="CT-T-0001", trigger="patient_safety",
        impact="增强扫描中患者出现过敏反应,CT 检查床无法退出", department="放射科",
        location="门诊楼1层 CT 室", reporter_name="刘护士", reporter_phone="13811112222")
    values.update(extra)
    return EmergencyCreate.model_validate(values)


class EmergencyDriver(CaseDriver):
    view = EmergencyView

    @classmethod
    async def open(cls, env: WorkflowEnvironment, queue: str, book: PolicyBook,
                   hospital_id: str, **intake_fields: Any) -> EmergencyDriver:
        now: datetime = await env.get_current_time()
        case_id = f"TE-{uuid.uuid4().hex[:12]}"
        unit = EquipmentSnapshot(serial="CT-T-0001", hospital_id=hospital_id,
                                 hospital_name="测试医院 test hospital", modality="CT",
                                 brand="GE", model="Revolution CT")
        start = EmergencyStart(case_id=case_id, intake=declaration(hospital_id, **intake_fields),
                               equipment=unit, policy=book.pin(None, now, "emergency"), opened_by=HOTLINE,
                               version=CODE_VERSION)
        handle = await env.client.start_workflow(EmergencyResponseWorkflow.run, start,
                                                 id=case_id, task_queue=queue)
        return cls(env, handle)

    async def pages(self, count: int, timeout: float = 30) -> EmergencyView:
        """The state once the workflow has sent `count` pages (real time, no skipping)."""
        for _ in range(int(timeout * 20)):
            view = await self.state()
            if view.earlier_pages + len(view.pages) >= count:
                return view
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.case_id}: fewer than {count} pages after {timeout}s: "
                             f"{(await self.state()).pages}")

    async def due_in(self, **delta: float) -> str:
        return (await self.env.get_current_time() + timedelta(**delta)).isoformat()
