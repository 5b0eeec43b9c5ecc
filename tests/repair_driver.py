"""Drives a RepairWorkflow in tests: start it from the demo data, report steps as people do."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from temporalio.testing import WorkflowEnvironment

from caseflow.domain.cases import CODE_VERSION
from caseflow.domain.enums import Role
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import Actor
from caseflow.domain.repair import RepairCreate, RepairStart, RepairView
from caseflow.store import directory
from caseflow.store.directory import snapshot
from caseflow.workflows.repair import RepairWorkflow
from tests.case_driver import CaseDriver

HOTLINE = Actor(id="HL-01", name="王丽", role=Role.hotline)
SUPERVISOR = Actor(id="SV-01", name="李强", role=Role.supervisor)
ENGINEER = Actor(id="EN-01", name="张伟", role=Role.engineer)
OTHER_ENGINEER = Actor(id="EN-02", name="陈静", role=Role.engineer)
AUDITOR = Actor(id="AU-01", name="周芳", role=Role.auditor)
MONITORING = Actor(id="MO-01", name="远程监测", role=Role.monitoring)

PASSING_VERIFICATION = {
    "function_test": {"passed": True}, "image_quality": {"passed": True},
    "accuracy": [{"parameter": "CT值 水模", "measured": 1.5, "reference": 0.0, "tolerance": 4.0,
                  "unit": "HU"}],
    "stability_run": {"passed": True, "note": "连续运行2小时正常"},
    "electrical_safety": {"passed": True},
}


def intake(serial: str = "CT-DH-0001", hospital: str = "H-DH", **extra: Any) -> RepairCreate:
    values: dict[str, Any] = dict(
        reporter_name="李医生", reporter_phone="0571-88886666", hospital_id=hospital,
        department="放射科", location="门诊楼2层 CT室", equipment_serial=serial,
        symptom="扫描时球管报警,无法出图", observed_at="2026-11-20T09:30:00+08:00",
        channel="phone", alarm_codes=["E1023"])
    values.update(extra)
    return RepairCreate.model_validate(values)


class RepairDriver(CaseDriver):
    view = RepairView

    @classmethod
    async def open(cls, env: WorkflowEnvironment, queue: str, sessions, book: PolicyBook,  # type: ignore[no-untyped-def]
                   *, contract: str | None = "default", opened_by: Actor = HOTLINE,
                   **intake_fields: Any) -> RepairDriver:
        data = intake(**intake_fields)
        now: datetime = await env.get_current_time()
        with sessions() as session:
            unit, hospital = directory.equipment(session, data.equipment_serial)
            warranty = directory.in_warranty(unit, now.date())
            equipment = snapshot(unit, hospital)
        code = equipment.contract_code if contract == "default" else contract
        case_id = f"T-{uuid.uuid4().hex[:12]}"
        handle = await env.client.start_workflow(
            RepairWorkflow.run,
            RepairStart(case_id=case_id, intake=data, equipment=equipment, in_warranty=warranty,
                        policy=book.pin(code, now, "repair"), opened_by=opened_by,
                        version=CODE_VERSION),
            id=case_id, task_queue=queue)
        return cls(env, handle)

    async def walk_to(self, status: str) -> RepairView:
        """Report every step, in order, up to `status` (severe, in warranty, no parts)."""
        steps: list[tuple[str, str, Actor, dict[str, Any]]] = [
            ("awaiting_assignment", "classify", SUPERVISOR, {"severity": "severe"}),
            ("assigned", "assign", SUPERVISOR, {"engineer_id": ENGINEER.id,
                                                "engineer_name": ENGINEER.name}),
            ("acknowledged", "acknowledge", ENGINEER, {}),
            ("on_site", "arrive", ENGINEER, {"mode": "on_site"}),
            ("site_reported", "report-site", ENGINEER, {"condition": "机房温湿度正常,电源稳定"}),
            ("work_approved", "approve-start", SUPERVISOR, {}),
            ("repairing", "diagnose", ENGINEER, {"findings": "球管灯丝老化", "fault_category": "xray_tube"}),
            ("awaiting_confirmation", "resolve", ENGINEER, {"summary": "更换球管,测试正常",
                                                            "verification": PASSING_VERIFICATION}),
            ("awaiting_callback", "confirm", HOTLINE, {"confirmed_by": "李医生"}),
            ("closed", "callback", HOTLINE, {"satisfaction": 5, "comment": "非常满意"}),
        ]
        view = await self.state()
        reached = [target for target, *_ in steps]
        position = reached.index(view.status.value) + 1 if view.status.value in reached else 0
        for target, action, actor, payload in steps[position:]:
            if view.status.value == status:
                break
            view = await self.act(action, actor, **payload)
            assert view.status.value == target, (action, view.status)
        assert view.status.value == status, (view.status, view.allowed_actions)
        return view
