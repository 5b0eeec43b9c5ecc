"""Opening a case of any kind: reserve its number by Idempotency-Key, then start its workflow.

A retry with the same key and body returns the same case (200), never a second workflow:
the workflow id is the case number, started with REJECT_DUPLICATE + USE_EXISTING. A start
that surely failed leaves its number on record as void, with the reason (the retry with the
same key takes it up again); one that may have gone through keeps the reservation (503), so
the retry reaches the same workflow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Header, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from caseflow.api.auth import Principal
from caseflow.api.errors import ServiceUnavailable
from caseflow.config import Settings
from caseflow.domain import search_attributes as search
from caseflow.domain.cases import CaseKind
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.text_search import searchable
from caseflow.store import intake
from caseflow.store.cases import Draft, reserve_case, void_case
from caseflow.store.models import Case

IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=200,
                                       description="unique per intake; a retry reuses it")]

# Answers after which a start may or may not have happened.
AMBIGUOUS = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                       RPCStatusCode.CANCELLED, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL})


class CaseCreated(BaseModel):
    case_id: str
    kind: str
    status: str
    created: bool
    links: dict[str, str]


@dataclass(frozen=True)
class Opening:
    """How to open one kind of case from a validated request."""

    kind: str
    workflow: str
    # Checks the references of the request (raising UnknownReference) and drafts the row.
    draft: Callable[[Session], Draft]
    # Builds the workflow input for the reserved row, the pinned policy, today's local date.
    start: Callable[[Session, Case, PolicyBook, datetime, date], BaseModel]
    summary: Callable[[BaseModel], str]


def opening_of(kind: CaseKind, body: BaseModel, principal: Principal, key: str) -> Opening:
    """The opening of a case of `kind` over the API, by what the registry and the store say."""
    assert kind.summary is not None
    now = datetime.now(timezone.utc)

    def start(session: Session, row: Case, book: PolicyBook, now: datetime,
              today: date) -> BaseModel:
        assert row.case_id is not None
        return intake.start_for(session, kind, case_id=row.case_id, body=body, book=book,
                                now=now, today=today, opened_by=principal.actor)

    return Opening(kind.name, kind.workflow,
                   lambda session: intake.draft_for(session, kind, body, created_by=principal.id,
                                                    key=key, now=now),
                   start, kind.summary)


@dataclass(frozen=True)
class Context:
    principal: Principal
    idempotency_key: str
    sessions: sessionmaker[Session]
    temporal: Client
    policy: PolicyBook
    settings: Settings


async def open_case(opening: Opening, body: BaseModel, context: Context,
                    response: Response) -> CaseCreated:
    request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    now = datetime.now(timezone.utc)
    local_day = now.astimezone(ZoneInfo(context.policy.defaults.timezone)).date()

    def reserve() -> tuple[Case, BaseModel, bool]:
        with context.sessions.begin() as session:
            row, created = reserve_case(
                session, kind=opening.kind, created_by=context.principal.id,
                key=context.idempotency_key, request_hash=request_hash,
                draft=opening.draft(session), now=now, local_day=local_day,
                text=searchable([body.model_dump(mode="json")]))
            return row, opening.start(session, row, context.policy, now, local_day), created

    try:
        row, start, created = await run_in_threadpool(reserve)
    except IntegrityError:  # the same key raced itself: the other request created the case
        row, start, created = await run_in_threadpool(reserve)
    assert row.case_id is not None
    try:
        await _start(context.temporal, context.settings.task_queue, opening, row, start)
    except RPCError as error:
        if created and error.status not in AMBIGUOUS:
            reason = (f"the workflow could not be started: "
                      f"{error.status.name if error.status else 'error'}: {error.message}")

            def void(reason: str = reason) -> None:
                with context.sessions.begin() as session:
                    void_case(session, row.seq, reason, datetime.now(timezone.utc))
            await run_in_threadpool(void)
        raise ServiceUnavailable(f"could not start the case workflow: {error.message}; "
                                 "retry with the same Idempotency-Key") from None
    if not created:
        response.status_code = 200
    case_id = row.case_id
    return CaseCreated(case_id=case_id, kind=opening.kind,
                       status="opened" if created else row.status, created=created, links={
                           "self": f"/v1/cases/{case_id}",
                           "timeline": f"/v1/cases/{case_id}/timeline",
                           "actions": f"/v1/cases/{case_id}/actions/{{action}}"})


async def _start(client: Client, task_queue: str, opening: Opening, row: Case,
                 start: BaseModel) -> None:
    try:
        await client.start_workflow(
            opening.workflow, start, id=row.case_id or "", task_queue=task_queue,
            search_attributes=search.at_start(opening.kind, start, row.hospital_id,
                                              row.equipment_serial),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=opening.summary(start)[:200])
    except WorkflowAlreadyStartedError:
        pass  # started by an earlier attempt with this key (and maybe already closed)
