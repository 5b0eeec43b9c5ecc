"""Recording complaints: POST /v1/complaints, idempotent on the Idempotency-Key header."""

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
from caseflow.domain.complaint import ComplaintCreate, ComplaintStart
from caseflow.domain.policy_loader import PolicyBook
from caseflow.store.intake import complaint_draft, complaint_start
from caseflow.store.models import Case

router = APIRouter(prefix="/v1", tags=["complaints"])


def complaint_opening(body: ComplaintCreate, principal: Principal) -> Opening:
    def start(session: Session, row: Case, book: PolicyBook, now: datetime,
              today: date) -> BaseModel:
        assert row.case_id is not None
        return complaint_start(session, case_id=row.case_id, body=body, book=book, now=now,
                               today=today, opened_by=principal.actor)

    def summary(start: BaseModel) -> str:
        assert isinstance(start, ComplaintStart)
        return f"投诉 {start.intake.complainant_name}: {start.intake.matter}"

    return Opening("complaint", "ComplaintWorkflow",
                   lambda session: complaint_draft(session, body), start, summary)


@router.post("/complaints", status_code=201, response_model=CaseCreated,
             responses={200: {"model": CaseCreated, "description": "the same key again"}})
async def record_complaint(
    body: ComplaintCreate, response: Response,
    principal: Annotated[Principal, allowed(Capability.open_complaint)],
    idempotency_key: IdempotencyKey,
    sessions: SessionsDep, temporal: TemporalDep, policy: PolicyDep, settings: SettingsDep,
) -> CaseCreated:
    """Record a complaint: 201 with its id; the same Idempotency-Key again returns it (200)."""
    context = Context(principal, idempotency_key, sessions, temporal, policy, settings)
    return await open_case(complaint_opening(body, principal), body, context, response)
