"""Opening repair cases: POST /v1/repairs, idempotent on the Idempotency-Key header."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionsDep, SettingsDep, TemporalDep
from caseflow.api.opening import CaseCreated, Context, IdempotencyKey, Opening, open_case
from caseflow.domain.access import Capability
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.repair import RepairCreate, RepairStart
from caseflow.store import directory
from caseflow.store.cases import Draft
from caseflow.store.directory import snapshot
from caseflow.store.intake import unit_at
from caseflow.store.models import Case

router = APIRouter(prefix="/v1", tags=["repairs"])


def repair_opening(body: RepairCreate, principal: Principal) -> Opening:
    def draft(session: Session) -> Draft:
        unit, _ = unit_at(session, body.equipment_serial, body.hospital_id)
        return Draft(hospital_id=unit.hospital_id, equipment_serial=unit.serial,
                     title=body.symptom)

    def start(session: Session, row: Case, policy: PolicyBook, now: datetime,
              today: date) -> BaseModel:
        found = directory.equipment(session, body.equipment_serial)
        assert found is not None and row.case_id is not None
        unit, hospital = found
        return RepairStart(case_id=row.case_id, intake=body, equipment=snapshot(unit, hospital),
                           in_warranty=directory.in_warranty(unit, today),
                           policy=policy.pin(unit.contract_code, now, "repair"),
                           opened_by=principal.actor)

    def summary(start: BaseModel) -> str:
        assert isinstance(start, RepairStart)
        return f"{start.equipment.modality} {start.equipment.serial}: {start.intake.symptom}"

    return Opening("repair", "RepairWorkflow", draft, start, summary)


@router.post("/repairs", status_code=201, response_model=CaseCreated,
             responses={200: {"model": CaseCreated, "description": "the same key again"}})
async def open_repair(
    body: RepairCreate, response: Response,
    principal: Annotated[Principal, allowed(Capability.open_repair)],
    idempotency_key: IdempotencyKey,
    sessions: SessionsDep, temporal: TemporalDep, policy: PolicyDep, settings: SettingsDep,
) -> CaseCreated:
    """Open a repair case: 201 with its id; the same Idempotency-Key again returns it (200)."""
    context = Context(principal, idempotency_key, sessions, temporal, policy, settings)
    return await open_case(repair_opening(body, principal), body, context, response)
