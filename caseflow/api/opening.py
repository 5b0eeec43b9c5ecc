"""Opening a case of any kind: reserve its number by Idempotency-Key, then start its workflow.

A retry with the same key and body returns the same case (200), never a second workflow:
the workflow id is the case number, started with REJECT_DUPLICATE + USE_EXISTING. A start
that surely failed leaves its number on record as void, with the reason (the retry with the
same key takes it up again); one that may have gone through keeps the reservation (503), so
the retry reaches the same workflow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Header, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from caseflow.api.auth import Principal
from caseflow.api.deps import in_thread
from caseflow.api.errors import ServiceUnavailable
from caseflow.config import Settings
from caseflow.domain import search_attributes as search
from caseflow.domain.cases import CaseKind
from caseflow.domain.policy_loader import PolicyBook
from caseflow.store import intake
from caseflow.store.cases import void_case
from caseflow.store.db import Db
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
    """Who opens which kind of case, under which Idempotency-Key."""

    kind: CaseKind
    principal: Principal
    key: str


def opening_of(kind: CaseKind, body: BaseModel, principal: Principal, key: str) -> Opening:
    """The opening of a case of `kind` over the API (`body`, the intake, is checked by the
    store when `open_case` reserves the number: `store/intake.py` `reserve`)."""
    assert kind.summary is not None, kind.name
    return Opening(kind, principal, key)


@dataclass(frozen=True)
class Context:
    principal: Principal
    idempotency_key: str
    db: Db  # the request's session (the alarms route, following episodes at once: sessions)
    temporal: Client
    policy: PolicyBook
    settings: Settings


async def open_case(opening: Opening, body: BaseModel, context: Context,
                    response: Response) -> CaseCreated:
    kind = opening.kind
    now = datetime.now(timezone.utc)
    local_day = now.astimezone(ZoneInfo(context.policy.defaults.timezone)).date()
    reserving = partial(
        in_thread, context.db, intake.reserve, kind, body, created_by=opening.principal.id,
        key=opening.key, request_hash=hashlib.sha256(body.model_dump_json().encode()).hexdigest(),
        opened_by=opening.principal.actor, book=context.policy, now=now, local_day=local_day)
    try:
        row, start, created = await reserving()
    except IntegrityError:  # the same key raced itself: the other request created the case
        row, start, created = await reserving()
    assert row.case_id is not None
    try:
        await _start(context.temporal, context.settings.task_queue, kind, row, start)
    except RPCError as error:
        if created and error.status not in AMBIGUOUS:
            reason = (f"the workflow could not be started: "
                      f"{error.status.name if error.status else 'error'}: {error.message}")
            await in_thread(context.db, void_case, row.seq, reason, datetime.now(timezone.utc))
        raise ServiceUnavailable(f"could not start the case workflow: {error.message}; "
                                 "retry with the same Idempotency-Key") from None
    if not created:
        response.status_code = 200
    case_id = row.case_id
    return CaseCreated(case_id=case_id, kind=kind.name,
                       status="opened" if created else row.status, created=created, links={
                           "self": f"/v1/cases/{case_id}",
                           "timeline": f"/v1/cases/{case_id}/timeline",
                           "actions": f"/v1/cases/{case_id}/actions/{{action}}"})


async def _start(client: Client, task_queue: str, kind: CaseKind, row: Case,
                 start: BaseModel) -> None:
    assert kind.summary is not None, kind.name
    try:
        await client.start_workflow(
            kind.workflow, start, id=row.case_id or "", task_queue=task_queue,
            search_attributes=search.at_start(kind.name, start, row.hospital_id,
                                              row.equipment_serial),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=kind.summary(start)[:200])
    except WorkflowAlreadyStartedError:
        pass  # started by an earlier attempt with this key (and maybe already closed)
