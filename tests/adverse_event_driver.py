"""Drives an AdverseEventWorkflow in tests: open one on a unit registered where a test says,
counted from an origin case's intake, and report its steps."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from caseflow.domain.adverse_event import (
    AdverseEventCreate,
    AdverseEventStart,
    AdverseEventView,
    EventOrigin,
    UnitRegistration,
)
from caseflow.domain.cases import CODE_VERSION
from caseflow.domain.enums import Role
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import Actor
from caseflow.store import directory
from caseflow.store.models import AdverseEventGroup, Equipment, Hospital
from caseflow.workflows.adverse_event import AdverseEventWorkflow
from tests.case_driver import CaseDriver

REGULATORY = Actor(id="RA-01", name="吴婷", role=Role.regulatory)


class AdverseEventDriver(CaseDriver):
    view = AdverseEventView

    @classmethod
    async def open(cls, env: WorkflowEnvironment, queue: str, sessions, book: PolicyBook,  # type: ignore[no-untyped-def]
                   *, jurisdictions: list[str], event_type: str = "serious_injury",
                   origin: EventOrigin | None = None, serial: str = "CT-DH-0001",
                   aware_at: datetime | None = None,
                   **intake_fields: Any) -> AdverseEventDriver:
        now: datetime = await env.get_current_time()
        with sessions() as session:
            unit, hospital = directory.equipment(session, serial)
            equipment = directory.snapshot(unit, hospital)
        body = AdverseEventCreate.model_validate({
            "hospital_id": equipment.hospital_id, "equipment_serial": serial,
            "event_type": event_type, "description": "扫描中患者床突然下降,患者腰部受伤",
            "patient_harm": "腰椎压缩性骨折", **intake_fields})
        case_id = f"TA-{uuid.uuid4().hex[:12]}"
        start = AdverseEventStart(
            case_id=case_id, intake=body, hospital_name=equipment.hospital_name,
            equipment=equipment,
            registration=UnitRegistration(jurisdictions=jurisdictions, udi="(01)0084068(21)X"),
            aware_at=origin.opened_at if origin else aware_at or now, origin=origin,
            policy=book.pin(equipment.contract_code, now, "adverse_event"), opened_by=REGULATORY,
            version=CODE_VERSION)
        handle = await env.client.start_workflow(AdverseEventWorkflow.run, start, id=case_id,
                                                 task_queue=queue)
        return cls(env, handle)

    async def submit(self, jurisdiction: str, reference: str, report: str = "initial",
                     at: datetime | None = None) -> AdverseEventView:
        when = at or await self.env.get_current_time()
        return await self.act("submit", REGULATORY, jurisdiction=jurisdiction, report=report,
                              submitted_at=when.isoformat(), channel="国家医疗器械不良事件监测信息系统",
                              reference=reference)


def origin_of(view: Any) -> EventOrigin:
    """The case a test opened first, as the origin of an event (its intake is the awareness)."""
    return EventOrigin(case_id=view.case_id, kind=view.kind, opened_at=view.opened_at)


def units_of_one_model(sessions, hospitals: int = 3, jurisdictions: tuple[str, ...] = ("CN", "EU"),  # type: ignore[no-untyped-def]
                       model: str | None = None) -> list[str]:
    """One unit of a model of the test's own at each of `hospitals` new hospitals (so no other
    test's events share their group key): their serials."""
    model = model or f"Aquilion {uuid.uuid4().hex[:8]}"
    serials = []
    with sessions.begin() as session:
        for _ in range(hospitals):
            hospital_id, serial = f"H-G{uuid.uuid4().hex[:8]}", f"CT-G{uuid.uuid4().hex[:8]}"
            session.add(Hospital(id=hospital_id, name="群体事件测试医院"))
            session.flush()
            session.add(Equipment(serial=serial, hospital_id=hospital_id, modality="CT",
                                  brand="Canon", model=model, department="放射科",
                                  install_date=date(2024, 1, 1), jurisdictions=list(jurisdictions),
                                  udi=f"(01)0498765432101(21){serial}"))
            serials.append(serial)
    return serials


def groups_of(sessions, model: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The case numbers of the group events of `model`, first formed first."""
    with sessions() as session:
        return list(session.scalars(select(AdverseEventGroup.case_id)
                                    .where(AdverseEventGroup.key.contains(f"model={model}|"))
                                    .order_by(AdverseEventGroup.id)))


def model_of(sessions, serial: str) -> str:  # type: ignore[no-untyped-def]
    with sessions() as session:
        unit = session.get(Equipment, serial)
        assert unit is not None
        return unit.model
