"""Cases for the reliability tests, written as the workflows write them: through the recording
activity's own code (`CaseRecords.record_case_event`), so the timeline rows and projections are
exactly the ones a real case leaves (tests/test_reliability_api.py also walks a real repair)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from caseflow.activities.records import CaseRecords
from caseflow.domain.enums import Role
from caseflow.domain.records import SYSTEM, Actor, CaseEvent, CaseProjection
from caseflow.domain.sla import CommitmentView
from caseflow.store.models import Contract, Equipment, Hospital

ENGINEER = Actor(id="EN-01", name="张伟", role=Role.engineer)
HOTLINE = Actor(id="HL-01", name="王丽", role=Role.hotline)


def new_site(sessions, *, contract: str | None = None, units: int = 1, brand: str = "GE",  # type: ignore[no-untyped-def]
             model: str = "Revolution CT", since: date = date(2020, 1, 1),
             name: str = "东湖县人民医院 测试院区") -> tuple[str, list[str]]:
    """A hospital of its own with `units` CT units in service since `since`, under `contract`
    (created, running 2020-2035) if given."""
    hospital_id = f"H-Y{uuid.uuid4().hex[:8]}"
    serials = [f"CT-Y{uuid.uuid4().hex[:8]}" for _ in range(units)]
    with sessions.begin() as session:
        session.add(Hospital(id=hospital_id, name=name))
        session.flush()
        if contract and session.get(Contract, contract) is None:
            session.add(Contract(code=contract, hospital_id=hospital_id,
                                 starts_on=date(2020, 1, 1), ends_on=date(2035, 12, 31)))
            session.flush()
        for serial in serials:
            session.add(Equipment(serial=serial, hospital_id=hospital_id, contract_code=contract,
                                  modality="CT", brand=brand, model=model, department="放射科",
                                  install_date=since, warranty_start=since,
                                  warranty_end=date(2035, 12, 31), status="in_service"))
    return hospital_id, serials


def commitment(key: str, started: datetime, due: datetime, met: datetime | None = None,
               ) -> dict[str, Any]:
    return CommitmentView(
        key=key, label=key, round=1, state="met" if met else "open", calendar="7x24",
        started_at=started, due_at=due, met_at=met, waived_at=None, waived_reason=None,
        breached=False, breached_at=None, paused_seconds=0, escalation_level=0, warned=False,
        fired=[]).model_dump(mode="json")


class CaseWriter:
    """Writes one case's timeline event by event, numbered as a workflow numbers them."""

    def __init__(self, sessions, kind: str, hospital_id: str, serial: str,  # type: ignore[no-untyped-def]
                 opened_at: datetime, *, severity: str | None = None, case_id: str | None = None,
                 title: str = "扫描时球管报警") -> None:
        self.records = CaseRecords(sessions)
        self.case_id = case_id or f"TR-{uuid.uuid4().hex[:10]}"
        self.kind, self.hospital_id, self.serial = kind, hospital_id, serial
        self.opened_at, self.severity, self.title = opened_at, severity, title
        self.seq = 0
        self.status = "open"
        self.closed_at: datetime | None = None
        self.assignee: str | None = None
        self.commitments: list[dict[str, Any]] = []

    def event(self, name: str, at: datetime, data: dict[str, Any] | None = None,
              actor: Actor = SYSTEM, **changes: Any) -> CaseWriter:
        for field, value in changes.items():
            setattr(self, field, value)
        self.seq += 1
        projection = CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status, severity=self.severity,
            hospital_id=self.hospital_id, equipment_serial=self.serial,
            assignee_id=self.assignee, breached=False, title=self.title,
            opened_at=self.opened_at, closed_at=self.closed_at, policy_version="test",
            commitments=self.commitments)
        self.records.record_case_event(CaseEvent(
            case_id=self.case_id, workflow_id=self.case_id, run_id="run", seq=self.seq,
            event=name, at=at, actor=actor, summary=name, data=data or {},
            projection=projection))
        return self


def open_repair(sessions, hospital_id: str, serial: str, observed: datetime,  # type: ignore[no-untyped-def]
                severity: str, *, opened: datetime | None = None,
                restore_within: timedelta | None = None, **more: Any) -> CaseWriter:
    """A repair's intake (observed, classified), with its restore commitment if given."""
    opened = opened or observed
    writer = CaseWriter(sessions, "repair", hospital_id, serial, opened, severity=severity, **more)
    if restore_within is not None:
        writer.commitments = [commitment("restore", opened, opened + restore_within)]
    intake = {"observed_at": observed.isoformat(), "symptom": writer.title,
              "reporter_name": "李医生", "department": "放射科"}
    return writer.event("opened", opened, {"intake": intake}, HOTLINE)


def resolve(writer: CaseWriter, at: datetime) -> CaseWriter:
    return writer.event("resolve", at, {"summary": "修复完成"}, ENGINEER,
                        status="awaiting_confirmation", assignee=ENGINEER.id)
