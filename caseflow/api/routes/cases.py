"""Reading cases and reporting steps: list, state, actions, timeline, history."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from caseflow.api import visibility
from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep, SettingsDep, TemporalDep, in_thread
from caseflow.api.errors import (
    ServiceUnavailable,
    domain_error_from_rpc,
    domain_error_from_update,
)
from caseflow.api.service_report import report_pdf
from caseflow.audit import case_histories, record_status
from caseflow.config import Settings
from caseflow.domain.access import Capability, CaseScope
from caseflow.domain.audit import RecordParts, Seal, record_parts
from caseflow.domain.cases import (
    CaseAction,
    RecordStatus,
    StepResult,
    redact_event,
    with_earlier_runs,
)
from caseflow.domain.cases import CaseView as CaseViewBase
from caseflow.domain.errors import InvalidPayload, InvalidTransition, NotPermitted, UnknownCase
from caseflow.domain.kinds import KINDS
from caseflow.domain.records import CaseProjection
from caseflow.domain.repair import RepairView
from caseflow.domain.search import CaseFilter, CaseSort, Cursor
from caseflow.domain.timeline import TimelineEntry
from caseflow.store import directory, seals, search
from caseflow.store import timeline as case_timeline
from caseflow.store.cases import add_text
from caseflow.store.db import Db
from caseflow.store.models import Case

router = APIRouter(prefix="/v1/cases", tags=["cases"])
Reader = Annotated[Principal, allowed(Capability.read_cases)]
Stepper = Annotated[Principal, allowed(Capability.report_steps)]
CaseId = Annotated[str, Path(max_length=64, description="e.g. RP-20261122-000001")]


class CaseSummary(CaseProjection):
    """A case as the list shows it: its projection, when that last changed, its Temporal page."""

    updated_at: datetime
    web_ui: str = Field(default="", description="the case's page in the Temporal Web UI")
    workflow_status: str | None = Field(
        default=None, description="with source=temporal: the workflow's execution status "
                                  "(RUNNING, COMPLETED...) as Temporal reports it")
    void_reason: str | None = Field(
        default=None, description="status void: why the number's case never started")


class CaseList(BaseModel):
    source: Literal["database", "temporal"]
    items: list[CaseSummary]
    next_cursor: str | None = Field(default=None,
                                    description="pass as `cursor` for the next page")


Filters = Annotated[CaseFilter, Query()]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("", response_model=CaseList)
async def list_cases(
    principal: Reader, session: SessionDep, settings: SettingsDep, temporal: TemporalDep,
    found: Filters,
    sort: CaseSort = CaseSort.newest,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=2000,
                                        description="next_cursor of the page before")] = None,
    source: Annotated[Literal["database", "temporal"], Query(
        description="database: the case projection (every filter and sort); temporal: "
                    "Temporal visibility over the search attributes, newest first")]
    = "database",
) -> CaseList:
    """Cases matching every filter given, in `sort` order, a page at a time."""
    found.check()
    if source == "temporal":
        return await _from_temporal(temporal, session, settings, principal, found, sort, limit,
                                    cursor)
    after = Cursor.decode(cursor, sort) if cursor else None
    rows, following = await in_thread(session, search.find_cases, found, principal.scope, sort,
                                      after, limit)
    return CaseList(source="database", items=[_summary(r, settings) for r in rows],
                    next_cursor=following.encode() if following else None)


async def _from_temporal(temporal: Client, session: Session, settings: Settings,
                         principal: Principal, found: CaseFilter, sort: CaseSort, limit: int,
                         cursor: str | None) -> CaseList:
    """The workflows Temporal visibility finds, with what the database adds (title, due times,
    commitments); status, severity, assignee and breach as the workflow last set them. Cases
    the principal may not read are left out of the page."""
    executions, following = await visibility.list_page(
        temporal, visibility.visibility_query(found, sort), limit, cursor,
        timedelta(seconds=settings.query_timeout_seconds))
    rows = await in_thread(session, search.visible_by_id, [e.id for e in executions],
                           principal.scope)
    items = []
    for execution in executions:
        row = rows.get(execution.id)
        if row is None:
            continue  # a workflow without a case row is no case of ours
        summary = _summary(row, settings)
        for name, value in visibility.attributes(execution).items():
            if value is not None:  # "" is how a workflow clears a keyword
                setattr(summary, name, value if value != "" else None)
        summary.workflow_status = execution.status.name if execution.status else None
        items.append(summary)
    return CaseList(source="temporal", items=items, next_cursor=following)


class DueList(BaseModel):
    now: datetime
    items: list[CaseSummary]


@router.get("/due", response_model=DueList)
def due_soon(
    principal: Reader, session: SessionDep, settings: SettingsDep,
    found: Filters,
    within_hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DueList:
    """Open cases whose next commitment is due within `within_hours` (the overdue ones first),
    ordered by due time: what is about to break, and what broke. The list's filters apply."""
    found.check()
    now = datetime.now(timezone.utc)
    rows = search.due_soon(session, found, principal.scope, now + timedelta(hours=within_hours),
                           limit)
    return DueList(now=now, items=[_summary(r, settings) for r in rows])


def _summary(row: Case, settings: Settings) -> CaseSummary:
    if row.commitments is None:  # a row no event has projected onto yet
        row.commitments = []
    summary = CaseSummary.model_validate(row, from_attributes=True)
    summary.web_ui = settings.workflow_link(row.case_id or "")
    return summary


async def known_case(db: Db, case_id: str, principal: Principal | None) -> Case:
    """The case's row (`store/search.py` `known_case`): 404 if there is none, 403 if
    `principal` may not read it (None: the caller checks what it may do with it, e.g. a step,
    which its workflow decides)."""
    return await in_thread(db, search.known_case, case_id,
                           principal.scope if principal is not None else None)


async def get_case(case_id: CaseId, principal: Reader, session: SessionDep,
                   temporal: TemporalDep, settings: SettingsDep) -> BaseModel:
    """The case as its workflow sees it now: state, every commitment, escalations, steps, and
    its page in the Temporal Web UI. A reportability review's deliberations (decision, reason,
    author) only for the roles that read them."""
    row = await known_case(session, case_id, principal)
    return for_reader(await case_view(temporal, session, settings, row), row, principal)


def for_reader(view: BaseModel, row: Case, principal: Principal) -> BaseModel:
    """The view as `principal` may read it: a confidential kind's without its deliberations
    for the roles that do not read them (domain/cases.py `Confidential`)."""
    secret = KINDS[row.kind].confidential
    return secret.redact(view) if secret and secret.hides_from(principal.role) else view


def refuse_deliberations(row: Case, principal: Principal, what: str) -> None:
    """403 for what holds every payload (history, export) of a confidential kind's case, to a
    role that does not read its deliberations."""
    secret = KINDS[row.kind].confidential
    if secret is not None and secret.hides_from(principal.role):
        readers = ", ".join(sorted(r.value for r in secret.readers))
        raise NotPermitted(f"the {what} of {row.case_id} holds its deliberations; readable by: "
                           f"{readers}")


async def case_view(temporal: Client, db: Db, settings: Settings, row: Case,
                    record: RecordStatus | None = None) -> BaseModel:
    """The view of a case the reader may read (`known_case`), as its workflow answers it now,
    with the commitments of its earlier runs and the state of its record (`record`, if the
    caller has read it with the row)."""
    view = await _state(temporal, settings, row.case_id or "", row.kind)
    return await _completed(temporal, db, settings, view, row, record)


async def _state(temporal: Client, settings: Settings, case_id: str, kind: str) -> Any:
    """The case as its workflow answers the `state` query now."""
    try:
        return await temporal.get_workflow_handle(case_id).query(
            "state", result_type=KINDS[kind].view,
            rpc_timeout=timedelta(seconds=settings.query_timeout_seconds))
    except WorkflowQueryFailedError as error:
        raise ServiceUnavailable(f"case {case_id} could not answer: {error.message}") from None
    except RPCError as error:
        raise await domain_error_from_rpc(temporal, error, case_id) from None


async def _completed(temporal: Client, db: Db, settings: Settings, view: Any, row: Case,
                     record: RecordStatus | None) -> BaseModel:
    """The workflow's view with its Temporal UI link, the commitments of the case's earlier
    runs (from its row) and the state of its record."""
    view.web_ui = settings.workflow_link(row.case_id or "")
    with_earlier_runs(view, row.commitments)
    view.record = await _record(temporal, db, settings, row, record)
    return view


async def _record(temporal: Client, db: Db, settings: Settings, row: Case,
                  found: RecordStatus | None = None) -> RecordStatus:
    """Whether the case's record is sealed, or what its seal waits for (docs/audit.md)."""
    if found is None:
        found = await in_thread(db, record_status, row, None, settings.seal_poll_seconds)
    if found.sealed or row.closed_at is None:
        return found
    try:  # closed but not sealed: does its workflow still run?
        described = await temporal.get_workflow_handle(row.case_id or "").describe(
            rpc_timeout=timedelta(seconds=settings.query_timeout_seconds))
    except RPCError:
        return found
    return await in_thread(db, record_status, row,
                           described.status == WorkflowExecutionStatus.RUNNING,
                           settings.seal_poll_seconds)


async def act(
    case_id: CaseId,
    action: Annotated[str, Path(description="the step, e.g. assign, acknowledge, callback")],
    principal: Stepper, session: SessionDep, temporal: TemporalDep, settings: SettingsDep,
    payload: Annotated[dict[str, Any], Body(default_factory=dict, description=(
        "the action's payload: its schema is that of the typed operation of the case's kind "
        "(POST /v1/repairs/{case_id}/actions/diagnose ...) or GET /v1/cases/{case_id}/actions"))],
    idempotency_key: Annotated[str, Header(
        alias="Idempotency-Key", min_length=8, max_length=200,
        description="unique per step; a retry with the same key is the same step")],
) -> BaseModel:
    """Report a step of any kind of case. Same Idempotency-Key again = the same step, taken
    once. Who may take it is the action's rule, checked here and again by the case's workflow
    (an engineer acts only on a case assigned to them). Each kind's actions are also published
    one operation each, with their payload's schema (`/v1/repairs/{case_id}/actions/...`)."""
    return await take_step(case_id, None, action, payload, principal, session, temporal,
                           settings, idempotency_key)


async def take_step(case_id: str, kind_name: str | None, action: str, payload: dict[str, Any],
                    principal: Principal, db: Db, temporal: Client, settings: Settings,
                    idempotency_key: str) -> BaseModel:
    """A step on the case: `kind_name` given, the case must be of that kind (404 otherwise)."""
    row = await known_case(db, case_id, None)
    if kind_name is not None and row.kind != kind_name:
        raise UnknownCase(f"no {kind_name} {case_id} (it is a {row.kind})")
    kind = KINDS[row.kind]
    rule = kind.rules.get(action)
    if rule is None:
        raise InvalidPayload(f"unknown action {action!r} for a {kind.name}; known: "
                             f"{', '.join(kind.rules)}", field="path.action")
    if principal.role not in rule.roles:
        allowed = ", ".join(sorted(r.value for r in rule.roles))
        raise NotPermitted(f"role {principal.role.value} may not {action}; allowed: {allowed}")
    try:
        data = rule.payload.model_validate(payload).model_dump(mode="json")
    except ValidationError as error:  # the first bad field, with pydantic's reason code
        first = error.errors()[0]
        raise RequestValidationError([{**first, "loc": ("body", *map(str, first["loc"]))}]) \
            from None
    if rule.people:
        await in_thread(db, directory.name_people, rule.people, data)
    request_hash = digest(json.dumps([action, data], sort_keys=True, ensure_ascii=False))
    # The same key and request again is the same update (Temporal deduplicates it); the same key
    # with another request gets another update id, which the workflow refuses (422). Both are
    # short digests: they are written into the case's history with every step.
    key = digest(f"{principal.id}:{idempotency_key}")
    update_id = f"{key}.{request_hash[:8]}"
    await _send(temporal, case_id, CaseAction(
        action=action, actor=principal.actor, payload=data, idempotency_key=key,
        request_hash=request_hash), update_id, timedelta(seconds=settings.update_timeout_seconds))
    # The update answers with the step's number only (the history keeps that, not the case);
    # the case as it now stands is read by a query, which adds nothing to the history. The
    # query goes while the database takes what the step leaves to the API (neither needs the
    # other), so a step waits for the longer of the two, not for both.
    state = asyncio.ensure_future(_state(temporal, settings, case_id, kind.name))
    try:
        # a review's reason is not searchable by every reader
        row, record = await in_thread(db, _after_step, case_id,
                                      data if kind.confidential is None else None,
                                      principal.scope, settings.seal_poll_seconds)
    except BaseException:
        state.cancel()
        await asyncio.gather(state, return_exceptions=True)
        raise
    view = await _completed(temporal, db, settings, await state, row, record)
    return for_reader(view, row, principal)


def _after_step(session: Session, case_id: str, data: dict[str, Any] | None, scope: CaseScope,
                poll_seconds: float) -> tuple[Case, RecordStatus]:
    """What a step leaves to the API, in one transaction: what the step says made searchable
    (None: nothing), the case's row as it now stands (the reader's scope checked), the state of
    its record."""
    if data is not None:
        add_text(session, case_id, data)
    row = search.known_case(session, case_id, scope)
    return row, record_status(session, row, None, poll_seconds)


def digest(text: str) -> str:
    """128 bits of SHA-256, URL-safe base64 (22 characters)."""
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()[:16]).decode()[:22]


async def _send(temporal: Client, case_id: str, request: CaseAction, update_id: str,
                timeout: timedelta) -> StepResult:
    """The update `act`. A run that ends as the update reaches it (the case continued as new)
    answers "completed": the update is sent once more, to the case's current run, where the
    same key is the same step; a closed case answers so again (409)."""
    handle = temporal.get_workflow_handle(case_id)
    for attempt in (1, 2):
        try:
            return await handle.execute_update("act", request, id=update_id,
                                               result_type=StepResult, rpc_timeout=timeout)
        except WorkflowUpdateFailedError as error:
            raise domain_error_from_update(error) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise ServiceUnavailable(
                f"case {case_id} did not answer in time (is a worker running?); retry with the "
                "same Idempotency-Key") from None
        except RPCError as error:
            mapped = await domain_error_from_rpc(temporal, error, case_id)
            if attempt == 1 and isinstance(mapped, InvalidTransition):
                continue
            raise mapped from None
    raise AssertionError("unreachable")


@router.get("/{case_id}/timeline", response_model=list[TimelineEntry])
def timeline(
    case_id: CaseId, principal: Reader, session: SessionDep,
    sources: Annotated[list[Literal["case", "notification", "attachment", "seal"]] | None, Query(
        description="only these kinds of entry (repeat the parameter); default all")] = None,
) -> list[TimelineEntry]:
    """What happened, in time order, who did it, in words: the steps and deadlines the
    workflow recorded, every notification and its delivery, and the history's seal."""
    row = search.known_case(session, case_id, principal.scope)
    entries = case_timeline.entries(session, case_id,
                                    tuple(sources) if sources else case_timeline.SOURCES)
    kind = KINDS[row.kind]
    if kind.confidential is None:
        return entries
    return [TimelineEntry.model_validate(redact_event(kind, principal.role, e.model_dump()))
            if e.source == "case" else e for e in entries]


@router.get("/{case_id}/report.pdf", response_class=Response, responses={
    200: {"description": "the service report (PDF)",
          "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
async def service_report(
    case_id: CaseId, principal: Reader, session: SessionDep, temporal: TemporalDep,
    settings: SettingsDep,
    lang: Annotated[Literal["zh-CN", "en"], Query(description="the report's language")] = "zh-CN",
) -> Response:
    """The repair's service report (服务确认单): steps, parts, verification, the customer's
    confirmation and satisfaction, with places to sign; 422 for a case that is no repair."""
    row = await known_case(session, case_id, principal)
    if row.kind != "repair":
        raise InvalidPayload(f"{case_id} is a {row.kind}; a service report is made of repairs",
                             field="path.case_id")
    view = await case_view(temporal, session, settings, row)
    assert isinstance(view, RepairView)
    pdf = await run_in_threadpool(report_pdf, view, lang, datetime.now(timezone.utc))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{case_id}.pdf"'})


@router.get("/{case_id}/history")
async def history(case_id: CaseId, principal: Reader, session: SessionDep,
                  temporal: TemporalDep) -> dict[str, Any]:
    """The Temporal event history of the case (the audit trail, replayable)."""
    refuse_deliberations(await known_case(session, case_id, principal), principal, "history")
    try:
        found = await temporal.get_workflow_handle(case_id).fetch_history()
    except RPCError as error:
        raise await _no_history(temporal, error, case_id) from None
    return found.to_json_dict()


async def _no_history(temporal: Client, error: RPCError, case_id: str) -> Exception:
    """Why the case's history could not be read: Temporal away (503), else there is none
    (404)."""
    raised = await domain_error_from_rpc(temporal, error, case_id)
    return raised if isinstance(raised, ServiceUnavailable) else \
        UnknownCase(f"no history for case {case_id}")


class CaseExport(BaseModel):
    """One self-contained record of a case: its state, timeline, every run of its history,
    and the seal that fingerprints all of them once the case is final (docs/audit.md). A
    sealed case's state and timeline are those sealed."""

    case_id: str
    kind: str
    exported_at: datetime
    state: dict[str, Any]
    timeline: list[TimelineEntry]
    histories: list[dict[str, Any]] = Field(
        description="every run of the case's workflow, oldest first (a case that continued as "
                    "new has several)")
    history: dict[str, Any] = Field(description="the last run (as GET .../history gives it)")
    attachments: list[dict[str, str]] = Field(
        default=[], description="the case's files: id, name and SHA-256 of each")
    history_sha256: str = Field(description="the fingerprint of `history` as exported now")
    record_sha256: str = Field(description="the fingerprint of this record as exported now "
                                           "(its parts' manifest, scheme 2)")
    parts: RecordParts = Field(description="the fingerprint of each part as exported now")
    seal: Seal | None = Field(description="the seal (None until sealed)")
    waits_for: str | None = Field(default=None,
                                  description="what sealing waits for, while not sealed")


async def case_record(temporal: Client, db: Db, settings: Settings, row: Case
                      ) -> tuple[Seal | None, dict[str, Any], list[TimelineEntry], str | None]:
    """(seal, state, timeline, what sealing waits for) of a case the reader may read: a sealed
    case's state and timeline as they were sealed (with the seal's own entry), whatever today's
    code makes of the view; an unsealed one's as they are now."""
    case_id = row.case_id or ""
    seal, sealed, seal_entries = await in_thread(db, seals.sealed_export, case_id)
    if sealed is not None:
        return (seal, sealed["state"],
                [TimelineEntry.model_validate(e) for e in sealed["timeline"]] + seal_entries,
                None)
    view = await case_view(temporal, db, settings, row)
    entries = await in_thread(db, case_timeline.entries, case_id)
    waits_for = view.record.waits_for if isinstance(view, CaseViewBase) and view.record else None
    return seal, view.model_dump(mode="json"), entries, waits_for


@router.get("/{case_id}/export", response_model=CaseExport)
async def export(case_id: CaseId, principal: Reader, session: SessionDep,
                 temporal: TemporalDep, settings: SettingsDep) -> CaseExport:
    """The whole case as one JSON document, to keep or hand to an auditor; check it with
    `caseflow audit verify FILE`."""
    row = await known_case(session, case_id, principal)
    refuse_deliberations(row, principal, "export")
    seal, state, entries, waits_for = await case_record(temporal, session, settings, row)
    try:
        runs = await case_histories(temporal, case_id)
    except RPCError as error:
        raise await _no_history(temporal, error, case_id) from None
    files = await in_thread(session, seals.attachment_fingerprints, case_id)
    parts = record_parts(case_id=case_id, kind=row.kind, state=state,
                         timeline=[e.model_dump(mode="json") for e in entries], histories=runs,
                         attachments=files)
    return CaseExport(case_id=case_id, kind=row.kind, exported_at=datetime.now(timezone.utc),
                      state=state, timeline=entries, histories=runs, history=runs[-1],
                      attachments=files,
                      history_sha256=parts.histories[-1], record_sha256=parts.sha256,
                      parts=parts, seal=seal, waits_for=waits_for)
