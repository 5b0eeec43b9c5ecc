"""Declaring emergencies: POST /v1/emergencies, idempotent on the Idempotency-Key header."""

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
from caseflow.domain.emergency import EmergencyCreate, EmergencyStart
from caseflow.domain.policy_loader import PolicyBook
from caseflow.store.intake import emergency_draft, emergency_start
from caseflow.store.models import Case

router = APIRouter(prefix="/v1", tags=["emergencies"])


def emergency_opening(body: EmergencyCreate, principal: Principal) -> Opening:
    def start(session: Session, row: Case, book: PolicyBook, now: datetime,
              today: date) -> BaseModel:
        assert row.case_id is not None
        return emergency_start(session, case_id=row.case_id, body=body, book=book, now=now,
                               opened_by=principal.actor)

    def summary(start: BaseModel) -> str:
        assert isinstance(start, EmergencyStart)
        return (f"应急 {start.equipment.modality} {start.equipment.serial} "
                f"{start.intake.trigger.value}: {start.intake.impact}")

    return Opening("emergency", "EmergencyResponseWorkflow",
                   lambda session: emergency_draft(session, body), start, summary)


@router.post("/emergencies", status_code=201, response_model=CaseCreated,
             responses={200: {"model": CaseCreated, "description": "the same key again"}})
async def declare_emergency(
    body: EmergencyCreate, response: Response,
    principal: Annotated[Principal, allowed(Capability.open_emergency)],
    idempotency_key: IdempotencyKey,
    sessions: SessionsDep, temporal: TemporalDep, policy: PolicyDep, settings: SettingsDep,
) -> CaseCreated:
    """Declare an emergency: the on-call chain is paged at once. 201 with its id; the same
    Idempotency-Key again returns it (200)."""
    context = Context(principal, idempotency_key, sessions, temporal, policy, settings)
    return await open_case(emergency_opening(body, principal), body, context, response)
