"""Ordering installations: POST /v1/installations, idempotent on the Idempotency-Key header."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionsDep, SettingsDep, TemporalDep
from caseflow.api.opening import CaseCreated, Context, IdempotencyKey, Opening, open_case
from caseflow.domain.access import Capability
from caseflow.domain.installation import InstallationCreate, InstallationStart
from caseflow.domain.policy_loader import PolicyBook
from caseflow.store.intake import installation_draft, installation_start
from caseflow.store.models import Case

router = APIRouter(prefix="/v1", tags=["installations"])


def installation_opening(body: InstallationCreate, principal: Principal, key: str) -> Opening:
    def start(session: Session, row: Case, book: PolicyBook, now: datetime,
              today: date) -> BaseModel:
        assert row.case_id is not None
        return installation_start(session, case_id=row.case_id, body=body, book=book, now=now,
                                  today=today, opened_by=principal.actor)

    def summary(start: BaseModel) -> str:
        assert isinstance(start, InstallationStart)
        order = start.intake
        return f"装机 {order.modality.value} {order.brand} {order.model} {order.serial}"

    return Opening("installation", "InstallationAcceptanceWorkflow",
                   lambda session: installation_draft(session, body, created_by=principal.id,
                                                      key=key, now=datetime.now(timezone.utc)),
                   start, summary)


@router.post("/installations", status_code=201, response_model=CaseCreated,
             responses={200: {"model": CaseCreated, "description": "the same key again"}})
async def order_installation(
    body: InstallationCreate, response: Response,
    principal: Annotated[Principal, allowed(Capability.open_installation)],
    idempotency_key: IdempotencyKey,
    sessions: SessionsDep, temporal: TemporalDep, policy: PolicyDep, settings: SettingsDep,
) -> CaseCreated:
    """Record an ordered unit: it enters the register as installing, and its acceptance case
    starts. 201 with the case id; the same Idempotency-Key again returns it (200)."""
    context = Context(principal, idempotency_key, sessions, temporal, policy, settings)
    return await open_case(installation_opening(body, principal, idempotency_key), body,
                           context, response)
