"""What regulatory affairs, auditors and managers read of adverse events: an event's report file
(GET /v1/adverse-events/{case_id}/report-file, JSON or PDF) and the regulatory board
(GET /v1/regulatory/board): docs/regulatory.md."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionDep, SettingsDep, TemporalDep
from caseflow.api.report_file_pdf import file_pdf
from caseflow.api.routes.cases import CaseId, case_record, known_case
from caseflow.domain.access import Capability
from caseflow.domain.errors import UnknownCase
from caseflow.domain.regulatory_reports import RegulatoryBoard, regulatory_board
from caseflow.domain.report_file import (
    ReportFile,
    complainant_of,
    observed_at_of,
    report_file,
)
from caseflow.store.regulatory import KIND, open_events

router = APIRouter(tags=["regulatory"])
RegulatoryReader = Annotated[Principal, allowed(Capability.read_regulatory)]


@router.get("/v1/adverse-events/{case_id}/report-file", response_model=ReportFile, responses={
    200: {"description": "the report file: JSON, or with format=pdf a PDF",
          "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
async def event_report_file(
    case_id: CaseId, principal: RegulatoryReader, session: SessionDep, temporal: TemporalDep,
    settings: SettingsDep,
    format: Annotated[Literal["json", "pdf"], Query(description="json or pdf")] = "json",  # noqa: A002
    lang: Annotated[Literal["zh-CN", "en"], Query(description="the PDF's language")] = "zh-CN",
) -> ReportFile | Response:
    """The event's report file: the device (model, serial, UDI), the dates (awareness, event,
    each submission), the complainant (from the case that first recorded it), the nature of the
    event, the investigations and their results, the corrective actions, the evaluation and the
    reply; every decision with its author, time and reason; every report to every regulator with
    its due time, submission (date, channel, the regulator's reference) and whether it was on
    time. A closed and sealed event's file is made of its sealed record and carries the seal it
    verifies against (`caseflow audit verify FILE`). 404 for a case that is no adverse event."""
    row = await known_case(session, case_id, principal)
    if row.kind != KIND:
        raise UnknownCase(f"no adverse event {case_id} (it is a {row.kind})")
    seal, state, entries, waits_for = await case_record(temporal, session, settings, row)
    origin = state.get("origin") or None
    origin_state = None
    if origin is not None:
        origin_row = await known_case(session, origin["case_id"], None)
        origin_state = (await case_record(temporal, session, settings, origin_row))[1]
    equipment = state["equipment"]
    found = report_file(
        state=state, timeline=[e.model_dump(mode="json") for e in entries],
        complainant=complainant_of(origin["kind"] if origin else None,
                                   origin["case_id"] if origin else None, origin_state,
                                   equipment["hospital_id"], state["hospital_name"]),
        observed_at=observed_at_of(origin["kind"] if origin else None, origin_state),
        made_at=datetime.now(timezone.utc), seal=seal, waits_for=waits_for)
    if format == "json":
        return found
    pdf = await run_in_threadpool(file_pdf, found, lang)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{case_id}-report-file-{lang}.pdf"'})


@router.get("/v1/regulatory/board", response_model=RegulatoryBoard)
def board(principal: RegulatoryReader, session: SessionDep,
          policy: PolicyDep) -> RegulatoryBoard:
    """The reports still due on open adverse events, per jurisdiction (the policy's, in its
    order), each with its due time and the time remaining (negative: overdue), overdue first,
    then by remaining time."""
    regulators = {code: place.regulator
                  for code, place in policy.defaults.regulatory.jurisdictions.items()}
    return regulatory_board(open_events(session), datetime.now(timezone.utc), regulators)
