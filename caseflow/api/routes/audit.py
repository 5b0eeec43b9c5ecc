"""Auditors replay a case against today's workflow code: POST /v1/audit/replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel
from temporalio.service import RPCError

from caseflow import replay
from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep, TemporalDep
from caseflow.api.errors import domain_error_from_rpc
from caseflow.api.routes.cases import known_case
from caseflow.domain.access import Capability
from caseflow.domain.cases import Name, Payload

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class ReplayRequest(Payload):
    case_id: Name


class ReplayResult(BaseModel):
    case_id: str
    ok: bool
    event_id: int | None = None
    event_type: str | None = None
    reason: str = ""


@router.post("/replay", response_model=ReplayResult)
async def replay_case(
    body: ReplayRequest,
    principal: Annotated[Principal, allowed(Capability.replay_cases)],
    session: SessionDep, temporal: TemporalDep,
) -> ReplayResult:
    """Replay every run of the case's history against today's code: ok, or the first
    divergence (the run, the event and why). 404 for an unknown case."""
    await known_case(session, body.case_id, principal)
    try:
        outcome = await replay.replay_case(temporal, body.case_id)
    except RPCError as error:
        raise await domain_error_from_rpc(temporal, error, body.case_id) from None
    return ReplayResult(case_id=body.case_id, ok=outcome.ok, event_id=outcome.event_id,
                        event_type=outcome.event_type, reason=outcome.reason)
