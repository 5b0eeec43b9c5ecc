"""The hotline's work queues: GET /v1/queues/{name} (hand-over checks, confirmations to
chase, callbacks), each ordered by the due time of the commitment that puts a case there."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep, SettingsDep
from caseflow.api.routes.cases import CaseSummary, _summary
from caseflow.domain.access import Capability
from caseflow.store import queues

router = APIRouter(prefix="/v1/queues", tags=["cases"])


class QueueItem(BaseModel):
    case: CaseSummary
    commitment: str = Field(description="the commitment that puts the case in this queue")
    state: str = Field(description="open, breached or paused")
    due_at: datetime | None


class QueueList(BaseModel):
    name: str
    items: list[QueueItem]


@router.get("/{name}", response_model=QueueList)
def work_queue(
    name: Annotated[Literal["handover", "confirmation", "callback"], Path(
        description="handover: engineers' receipt to confirm; confirmation: customers to "
                    "chase; callback: closed-loop calls (and emergency surveys)")],
    principal: Annotated[Principal, allowed(Capability.read_cases)],
    session: SessionDep, settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> QueueList:
    """Open cases with this commitment still to keep, the soonest due first (overdue first)."""
    found = queues.queue(session, name, principal.scope, limit)
    return QueueList(name=name, items=[QueueItem(
        case=_summary(row, settings), commitment=c["key"], state=c["state"],
        due_at=c.get("due_at")) for row, c in found])
