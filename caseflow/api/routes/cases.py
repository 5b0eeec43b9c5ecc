"""Reading cases and reporting steps: list, state, actions, timeline, history."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, select
from starlette.concurrency import run_in_threadpool
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from caseflow.api.auth import READERS, Principal, require
from caseflow.api.deps import SessionsDep, SettingsDep, TemporalDep
from caseflow.api.errors import (
    ServiceUnavailable,
    domain_error_from_rpc,
    domain_error_from_update,
)
from caseflow.api.kinds import KINDS
from caseflow.audit import history_fingerprint
from caseflow.config import Settings
from caseflow.domain.audit import Seal
from caseflow.domain.cases import CaseAction, PersonField
from caseflow.domain.complaint import ComplaintView
from caseflow.domain.emergency import EmergencyView
from caseflow.domain.enums import Role
from caseflow.domain.errors import InvalidPayload, NotPermitted, UnknownCase, UnknownReference
from caseflow.domain.installation import InstallationView
from caseflow.domain.maintenance import VisitView
from caseflow.domain.records import CaseProjection
from caseflow.domain.repair import RepairView
from caseflow.store import directory, seals
from caseflow.store.models import Case, CaseEventRow

router = APIRouter(prefix="/v1/cases", tags=["cases"])
CaseView = Annotated[RepairView | ComplaintView | EmergencyView | InstallationView | VisitView,
                     Field(discriminator="kind")]
Reader = Annotated[Principal, require(*READERS)]
CaseId = Annotated[str, Path(max_length=64, description="e.g. RP-20261122-000001")]


class CaseSummary(CaseProjection):
    """A case as the list shows it: its projection, when that last changed, its Temporal page."""

    updated_at: datetime
    web_ui: str = Field(default="", description="the case's page in the Temporal Web UI")


class CaseList(BaseModel):
    items: list[CaseSummary]
    next_before: int | None = None


class TimelineEntry(BaseModel):
    seq: int
    at: datetime
    event: str
    actor: dict[str, Any]
    summary: str
    data: dict[str, Any]


def case_query(filters: dict[str, Any]) -> Select[tuple[Case]]:
    """The cases that match `filters` (column name -> value; None: any), reserved ones left out."""
    query = select(Case).where(Case.case_id.is_not(None), Case.status != "opening")
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Case, name) == value)
    return query


@router.get("", response_model=CaseList)
async def list_cases(
    principal: Reader, sessions: SessionsDep, settings: SettingsDep,
    kind: str | None = None, status: str | None = None, severity: str | None = None,
    hospital_id: str | None = None, assignee_id: str | None = None,
    equipment_serial: str | None = None, breached: bool | None = None,
    opened_from: Annotated[datetime | None, Query(description="opened at or after (with zone)")]
    = None,
    opened_to: Annotated[datetime | None, Query(description="opened before (with zone)")] = None,
    due_before: Annotated[datetime | None, Query(
        description="open cases with a commitment due before this (with zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                        description="cursor: next_before of a page")] = None,
) -> CaseList:
    """Cases, newest first, filtered; page with `before`."""
    filters = {"kind": kind, "status": status, "severity": severity,
               "hospital_id": hospital_id, "assignee_id": assignee_id,
               "equipment_serial": equipment_serial, "breached": breached}
    for name, value in (("opened_from", opened_from), ("opened_to", opened_to),
                        ("due_before", due_before)):
        if value is not None and value.tzinfo is None:
            raise InvalidPayload("must include a time zone, e.g. 2026-11-22T00:00:00+08:00",
                                 field=f"query.{name}")

    def read() -> CaseList:
        query = case_query(filters)
        if opened_from is not None:
            query = query.where(Case.opened_at >= opened_from)
        if opened_to is not None:
            query = query.where(Case.opened_at < opened_to)
        if due_before is not None:
            query = query.where(Case.closed_at.is_(None), Case.next_due_at < due_before)
        if before is not None:
            query = query.where(Case.seq < before)
        with sessions() as session:
            rows = list(session.scalars(query.order_by(Case.seq.desc()).limit(limit + 1)))
        page = rows[:limit]
        return CaseList(items=[_summary(r, settings) for r in page],
                        next_before=page[-1].seq if len(rows) > limit else None)

    return await run_in_threadpool(read)


class DueList(BaseModel):
    now: datetime
    items: list[CaseSummary]


@router.get("/due", response_model=DueList)
async def due_soon(
    principal: Reader, sessions: SessionsDep, settings: SettingsDep,
    within_hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
    kind: str | None = None, hospital_id: str | None = None, assignee_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DueList:
    """Open cases whose next commitment is due within `within_hours` (the overdue ones first),
    ordered by due time: what is about to break, and what broke."""
    now = datetime.now(timezone.utc)
    filters = {"kind": kind, "hospital_id": hospital_id, "assignee_id": assignee_id}

    def read() -> list[CaseSummary]:
        query = case_query(filters).where(
            Case.closed_at.is_(None), Case.next_due_at.is_not(None),
            Case.next_due_at < now + timedelta(hours=within_hours))
        with sessions() as session:
            rows = session.scalars(query.order_by(Case.next_due_at, Case.seq).limit(limit))
            return [_summary(r, settings) for r in rows]

    return DueList(now=now, items=await run_in_threadpool(read))


def _summary(row: Case, settings: Settings) -> CaseSummary:
    summary = CaseSummary.model_validate(row, from_attributes=True)
    summary.web_ui = settings.workflow_link(row.case_id or "")
    return summary


async def known_case(sessions, case_id: str) -> Case:  # type: ignore[no-untyped-def]
    def read() -> Case | None:
        with sessions() as session:
            return session.scalar(select(Case).where(Case.case_id == case_id))

    row = await run_in_threadpool(read)
    if row is None:
        raise UnknownCase(f"no case {case_id}")
    return row


@router.get("/{case_id}", response_model=CaseView)
async def get_case(case_id: CaseId, principal: Reader, sessions: SessionsDep,
                   temporal: TemporalDep, settings: SettingsDep) -> BaseModel:
    """The case as its workflow sees it now: state, every commitment, escalations, steps."""
    kind = KINDS[(await known_case(sessions, case_id)).kind]
    try:
        return await temporal.get_workflow_handle(case_id).query(
            "state", result_type=kind.view,
            rpc_timeout=timedelta(seconds=settings.query_timeout_seconds))
    except WorkflowQueryFailedError as error:
        raise ServiceUnavailable(f"case {case_id} could not answer: {error.message}") from None
    except RPCError as error:
        raise domain_error_from_rpc(error, case_id) from None


@router.post("/{case_id}/actions/{action}", response_model=CaseView)
async def act(
    case_id: CaseId,
    action: Annotated[str, Path(description="the step, e.g. assign, acknowledge, callback")],
    principal: Reader, sessions: SessionsDep, temporal: TemporalDep, settings: SettingsDep,
    payload: Annotated[dict[str, Any], Body(default_factory=dict)],
    idempotency_key: Annotated[str, Header(
        alias="Idempotency-Key", min_length=8, max_length=200,
        description="unique per step; a retry with the same key is the same step")],
) -> BaseModel:
    """Report a step. Same Idempotency-Key again = the same step, taken once."""
    kind = KINDS[(await known_case(sessions, case_id)).kind]
    rule = kind.rules.get(action)
    if rule is None:
        raise InvalidPayload(f"unknown action {action!r} for a {kind.name}; known: "
                             f"{', '.join(kind.rules)}", field="path.action")
    if principal.role not in rule.roles:
        allowed = ", ".join(sorted(r.value for r in rule.roles))
        raise NotPermitted(f"a {principal.role.value} may not {action}; allowed: {allowed}")
    data = rule.parse(payload).model_dump(mode="json")
    if rule.people:
        await run_in_threadpool(_name_people, sessions, rule.people, data)
    request_hash = hashlib.sha256(
        json.dumps([action, data], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    # The same key and request again is the same update (Temporal deduplicates it); the same key
    # with another request gets another update id, which the workflow refuses (422).
    key = f"{principal.id}:{idempotency_key}"
    update_id = f"{key}:{request_hash[:16]}"
    return await _send(temporal, case_id, CaseAction(
        action=action, actor=principal.actor, payload=data, idempotency_key=key,
        request_hash=request_hash), update_id, kind.view,
        timedelta(seconds=settings.update_timeout_seconds))


def _name_people(sessions, people: tuple[PersonField, ...], data: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """Check every person a payload names exists (in a role the action allows); fill names."""
    with sessions() as session:
        for spec in people:
            items = (data.get(spec.within) or []) if spec.within else [data]
            for index, item in enumerate(items):
                person_id = item.get(spec.id_field)
                if person_id is None:
                    continue
                where = f"{spec.within}.{index}.{spec.id_field}" if spec.within else spec.id_field
                person = directory.person(session, person_id)
                if person is None or not person.active or (
                        spec.roles is not None and Role(person.role) not in spec.roles):
                    wanted = "/".join(sorted(r.value for r in spec.roles)) if spec.roles else "person"
                    raise UnknownReference(f"no active {wanted} {person_id!r}", field=where)
                item[spec.name_field] = person.name


async def _send(temporal: Client, case_id: str, request: CaseAction, update_id: str,
                view: type[BaseModel], timeout: timedelta) -> BaseModel:
    handle = temporal.get_workflow_handle(case_id)
    try:
        return await handle.execute_update("act", request, id=update_id, result_type=view,
                                           rpc_timeout=timeout)
    except WorkflowUpdateFailedError as error:
        raise domain_error_from_update(error) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise ServiceUnavailable(
            f"case {case_id} did not answer in time (is a worker running?); retry with the "
            "same Idempotency-Key") from None
    except RPCError as error:
        raise domain_error_from_rpc(error, case_id) from None


@router.get("/{case_id}/timeline", response_model=list[TimelineEntry])
async def timeline(case_id: CaseId, principal: Reader, sessions: SessionsDep) -> list[TimelineEntry]:
    """What happened, in order, who did it, in words."""
    await known_case(sessions, case_id)

    def read() -> list[TimelineEntry]:
        with sessions() as session:
            rows = session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id)
                                   .order_by(CaseEventRow.seq))
            return [TimelineEntry(seq=r.seq, at=r.at, event=r.event, summary=r.summary,
                                  data=r.data, actor={"id": r.actor_id, "name": r.actor_name,
                                                      "role": r.actor_role}) for r in rows]

    return await run_in_threadpool(read)


@router.get("/{case_id}/history")
async def history(case_id: CaseId, principal: Reader, sessions: SessionsDep,
                  temporal: TemporalDep) -> dict[str, Any]:
    """The Temporal event history of the case (the audit trail, replayable)."""
    await known_case(sessions, case_id)
    try:
        found = await temporal.get_workflow_handle(case_id).fetch_history()
    except RPCError as error:
        raised = domain_error_from_rpc(error, case_id)
        if isinstance(raised, ServiceUnavailable):
            raise raised from None
        raise UnknownCase(f"no history for case {case_id}") from None
    return found.to_json_dict()


class CaseExport(BaseModel):
    """One self-contained record of a case: its state, timeline and history, and the seal
    that fingerprints the history once the case is closed (docs/audit.md)."""

    case_id: str
    kind: str
    exported_at: datetime
    state: dict[str, Any]
    timeline: list[TimelineEntry]
    history: dict[str, Any]
    history_sha256: str = Field(description="the fingerprint of `history` as exported now")
    seal: Seal | None = Field(description="the sealed fingerprint (None until sealed)")


@router.get("/{case_id}/export", response_model=CaseExport)
async def export(case_id: CaseId, principal: Reader, sessions: SessionsDep,
                 temporal: TemporalDep, settings: SettingsDep) -> CaseExport:
    """The whole case as one JSON document, to keep or hand to an auditor; check it with
    `caseflow audit verify FILE`."""
    row = await known_case(sessions, case_id)
    state = await get_case(case_id, principal, sessions, temporal, settings)
    entries = await timeline(case_id, principal, sessions)
    found = await history(case_id, principal, sessions, temporal)

    def read_seal() -> Seal | None:
        with sessions() as session:
            return seals.seal_of(session, case_id)

    return CaseExport(case_id=case_id, kind=row.kind, exported_at=datetime.now(timezone.utc),
                      state=state.model_dump(mode="json"), timeline=entries, history=found,
                      history_sha256=await run_in_threadpool(history_fingerprint, found,
                                                             case_id),
                      seal=await run_in_threadpool(read_seal))
