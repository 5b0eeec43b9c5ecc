"""Opening repair cases: POST /v1/repairs, idempotent on the Idempotency-Key header."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from caseflow.api.auth import Principal, require
from caseflow.api.deps import PolicyDep, SessionsDep, SettingsDep, TemporalDep
from caseflow.api.errors import ServiceUnavailable
from caseflow.domain.enums import Role
from caseflow.domain.errors import InvalidPayload, UnknownReference
from caseflow.domain.repair import RepairCreate, RepairStart
from caseflow.store import directory
from caseflow.store.directory import snapshot
from caseflow.store.models import Case
from caseflow.workflows import repair as wf
from caseflow.workflows import search_attributes as search

router = APIRouter(prefix="/v1", tags=["repairs"])
CASE_PREFIX = "RP"
# Answers after which a start may or may not have happened.
AMBIGUOUS = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                       RPCStatusCode.CANCELLED, RPCStatusCode.UNKNOWN,
                       RPCStatusCode.INTERNAL})


class CaseCreated(BaseModel):
    case_id: str
    kind: str
    status: str
    created: bool
    links: dict[str, str]


def _created(case_id: str, status: str, created: bool) -> CaseCreated:
    return CaseCreated(case_id=case_id, kind="repair", status=status, created=created, links={
        "self": f"/v1/cases/{case_id}", "timeline": f"/v1/cases/{case_id}/timeline",
        "actions": f"/v1/cases/{case_id}/actions/{{action}}"})


@router.post("/repairs", status_code=201, response_model=CaseCreated,
             responses={200: {"model": CaseCreated, "description": "the same key again"}})
async def open_repair(
    body: RepairCreate,
    response: Response,
    principal: Annotated[Principal, require(Role.hotline, Role.supervisor, Role.manager)],
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=200,
                                           description="unique per intake; a retry reuses it")],
    sessions: SessionsDep, temporal: TemporalDep, policy: PolicyDep, settings: SettingsDep,
) -> CaseCreated:
    """Open a repair case: 201 with its id; the same Idempotency-Key again returns it (200)."""
    request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    now = datetime.now(timezone.utc)
    local_day = now.astimezone(ZoneInfo(policy.defaults.timezone)).date()

    def reserve() -> tuple[Case, RepairStart, bool]:
        with sessions.begin() as session:
            existing = _by_key(session, principal.id, idempotency_key)
            if existing is None:
                found = directory.equipment(session, body.equipment_serial)
                if found is None:
                    raise UnknownReference(f"no equipment with serial {body.equipment_serial!r}",
                                           field="equipment_serial")
                unit, hospital = found
                if unit.hospital_id != body.hospital_id:
                    raise UnknownReference(
                        f"equipment {unit.serial} belongs to hospital {unit.hospital_id}",
                        field="hospital_id")
                row = Case(kind="repair", status="opening", hospital_id=unit.hospital_id,
                           equipment_serial=unit.serial, title=body.symptom[:200],
                           opened_at=now, updated_at=now, created_by=principal.id,
                           idempotency_key=idempotency_key, request_hash=request_hash)
                session.add(row)
                session.flush()
                row.case_id = f"{CASE_PREFIX}-{local_day:%Y%m%d}-{row.seq:06d}"
                created = True
            else:
                row, created = existing, False
                if row.request_hash != request_hash:
                    raise InvalidPayload("already used for a different request",
                                         field="header.Idempotency-Key")
                unit, hospital = directory.equipment(session, row.equipment_serial or "") or (None, None)
            start = RepairStart(
                case_id=row.case_id, intake=body, equipment=snapshot(unit, hospital),
                in_warranty=directory.in_warranty(unit, local_day),
                policy=policy.pin(unit.contract_code, now), opened_by=principal.actor)
            return row, start, created

    try:
        row, start, created = await run_in_threadpool(reserve)
    except IntegrityError:  # the same key raced itself: the other request created the case
        row, start, created = await run_in_threadpool(reserve)
    try:
        await _start(temporal, settings.task_queue, start)
    except RPCError as error:
        if created and error.status not in AMBIGUOUS:
            await run_in_threadpool(_forget, sessions, row.seq)
        # When the start may have gone through, the reservation stays: a retry with the same
        # key reaches the same workflow (USE_EXISTING) and never makes a second case.
        raise ServiceUnavailable(f"could not start the case workflow: {error.message}; "
                                 "retry with the same Idempotency-Key") from None
    if not created:
        response.status_code = 200
    return _created(start.case_id, "opened" if created else row.status, created)


def _by_key(session, principal_id: str, key: str) -> Case | None:  # type: ignore[no-untyped-def]
    return session.scalar(select(Case).where(Case.kind == "repair", Case.created_by == principal_id,
                                             Case.idempotency_key == key))


def _forget(sessions, seq: int) -> None:  # type: ignore[no-untyped-def]
    """Undo a reservation whose workflow never started, so a failed create changes nothing."""
    with sessions.begin() as session:
        row = session.get(Case, seq)
        if row is not None and row.status == "opening":
            session.delete(row)


async def _start(client: Client, task_queue: str, start: RepairStart) -> None:
    attributes = search.typed({
        "CaseKind": "repair", "CaseStatus": "awaiting_classification",
        "HospitalId": start.equipment.hospital_id,
        "EquipmentSerial": start.equipment.serial, "SlaBreached": False})
    try:
        await client.start_workflow(
            wf.RepairWorkflow.run, start, id=start.case_id, task_queue=task_queue,
            search_attributes=attributes,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"{start.equipment.modality} {start.equipment.serial}: "
                           f"{start.intake.symptom[:100]}")
    except WorkflowAlreadyStartedError:
        pass  # started by an earlier attempt with this key (and maybe already closed)
