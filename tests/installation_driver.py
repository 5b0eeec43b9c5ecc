"""Drives an InstallationAcceptanceWorkflow in tests: a new unit ordered for H-DH under its
contract (24 months of warranty, a visit every 90 days), steps reported as people do."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from caseflow.domain.cases import CODE_VERSION
from caseflow.domain.installation import (
    InstallationCreate,
    InstallationStart,
    InstallationView,
    site_items,
)
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import Actor
from caseflow.store.equipment import register_installing
from caseflow.workflows.installation import InstallationAcceptanceWorkflow
from tests.case_driver import CaseDriver

CONTRACT = "HT-2025-RJ-001"
ENGINEER = Actor(id="EN-01", name="张伟", role="engineer")
SUPERVISOR = Actor(id="SV-01", name="李强", role="supervisor")
MANAGER = Actor(id="MG-01", name="赵敏", role="manager")
HOTLINE = Actor(id="HL-01", name="王丽", role="hotline")
IN_SPEC = [{"name": "CT值 水模", "value": 1.2, "unit": "HU", "low": -4, "high": 4},
           {"name": "噪声", "value": 0.35, "unit": "%", "high": 0.4},
           {"name": "层厚偏差", "value": 0.1, "unit": "mm", "low": -0.5, "high": 0.5}]
TRAINING = {"attendees": [{"name": "周技师", "department": "放射科", "role": "技师"},
                          {"name": "吴工", "department": "设备科", "role": "engineer"}],
            "topics": ["operation", "maintenance", "safety"], "hours": 6}


def order(serial: str, modality: str = "CT", **extra: Any) -> InstallationCreate:
    values: dict[str, Any] = dict(
        hospital_id="H-DH", serial=serial, modality=modality, brand="GE",
        model="Revolution Apex", department="放射科", location="医技楼1层", contract_code=CONTRACT,
        delivery_due_at=(datetime.now().astimezone() + timedelta(days=10)).isoformat(),
        contact_name="设备科 吴工", contact_phone="0571-88880000")
    values.update(extra)
    return InstallationCreate.model_validate(values)


def site(modality: str = "CT", failing: tuple[str, ...] = ()) -> dict[str, Any]:
    from caseflow.domain.enums import Modality

    return {"items": {item.value: {"passed": item.value not in failing, "measured": "ok"}
                      for item in site_items(Modality(modality))}}


class InstallationDriver(CaseDriver):
    view = InstallationView
    serial: str

    @classmethod
    async def open(cls, env: WorkflowEnvironment, queue: str, sessions, book: PolicyBook,  # type: ignore[no-untyped-def]
                   *, delivery_in: timedelta = timedelta(days=10),
                   **fields: Any) -> InstallationDriver:
        now: datetime = await env.get_current_time()
        serial = fields.pop("serial", f"CT-T{uuid.uuid4().hex[:8]}")
        body = order(serial, delivery_due_at=(now + delivery_in).isoformat(), **fields)
        with sessions.begin() as session:
            register_installing(session, body, CONTRACT, now)
        case_id = f"TI-{uuid.uuid4().hex[:12]}"
        start = InstallationStart(case_id=case_id, intake=body, hospital_name="东湖县人民医院",
                                  contract_code=CONTRACT, policy=book.pin(CONTRACT, now, "installation"),
                                  opened_by=SUPERVISOR, version=CODE_VERSION)
        handle = await env.client.start_workflow(InstallationAcceptanceWorkflow.run, start,
                                                 id=case_id, task_queue=queue)
        driver = cls(env, handle)
        driver.serial = serial
        return driver

    async def walk_to(self, status: str, modality: str = "CT") -> InstallationView:
        """Every step still to do, in order (all passing), up to `status`."""
        steps: list[tuple[str, Actor, dict[str, Any]]] = [
            ("assign", SUPERVISOR, {"engineer_id": ENGINEER.id, "engineer_name": ENGINEER.name}),
            ("assess-site", ENGINEER, site(modality)),
            ("deliver", ENGINEER, {"note": "到货开箱完好"}),
            ("install", ENGINEER, {}),
            ("commission", ENGINEER, {}),
            ("verify", ENGINEER, {"parameters": IN_SPEC}),
            ("train", ENGINEER, TRAINING),
            ("sign", MANAGER, {"party": "vendor", "signer_name": "赵敏",
                               "signature_ref": "docs/accept-vendor.pdf"}),
            ("sign", HOTLINE, {"party": "hospital", "signer_name": "吴工",
                               "signer_title": "设备科科长",
                               "signature_ref": "docs/accept-hospital.pdf"}),
        ]
        upto = {"ordered": 1, "site_ready": 2, "delivered": 3, "installed": 4,
                "commissioned": 5, "verified": 6, "trained": 7, "accepted": 9}[status]
        view = await self.state()
        done = {"ordered": 1 if view.assignee else 0, "site_not_ready": 1, "site_ready": 2,
                "delivered": 3, "installed": 4, "commissioned": 5, "verified": 6,
                "trained": 7 + len(view.signatures)}[view.status.value]
        for action, actor, payload in steps[done:upto]:
            view = await self.act(action, actor, **payload)
        assert view.status.value == status, (view.status, view.allowed_actions)
        return view
