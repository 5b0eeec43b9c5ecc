"""The annual operation report and the maintenance visit report, made as background jobs: POST
starts one (202 with the job), GET follows its progress, and once done its HTML, PDF and data
are downloads (/v1/reports/annual/..., /v1/reports/visits/..., /v1/reports/jobs/...)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep, SettingsDep, TemporalDep, in_thread
from caseflow.api.errors import ServiceUnavailable
from caseflow.config import Settings
from caseflow.domain.access import Capability
from caseflow.domain.annual import ReportJobView
from caseflow.domain.errors import UnknownRecord
from caseflow.store import report_jobs
from caseflow.store.models import Hospital, ReportJob
from caseflow.workflows.report_job import ReportJobWorkflow

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Reader = Annotated[Principal, allowed(Capability.read_reports)]
PLAIN = r"^[^\x00-\x1f\x7f]*$"
HospitalId = Annotated[str, Path(max_length=64, pattern=PLAIN, description="e.g. H-DH")]
Year = Annotated[int, Path(ge=1970, le=2200, description="the calendar year (local)")]
SerialFilter = Annotated[str | None, Query(min_length=1, max_length=100, pattern=PLAIN,
                                           description="one unit's report")]
CaseId = Annotated[str, Path(max_length=64, pattern=PLAIN, description="a maintenance visit")]
JobId = Annotated[str, Path(max_length=40, pattern=PLAIN)]
FILES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "json": "application/json"}


async def _start(temporal: Client, settings: Settings, session: Session,
                 job: ReportJobView) -> ReportJobView:
    """Start the job's workflow; if Temporal refuses, the job row goes (nothing half made)."""
    try:
        await temporal.start_workflow(ReportJobWorkflow.run, job.job_id, id=job.job_id,
                                      task_queue=settings.task_queue,
                                      static_summary=f"报告 {job.job_id}")
    except RPCError as error:
        await in_thread(session, report_jobs.forget, job.job_id)
        raise ServiceUnavailable(f"Temporal did not answer: {error.message}") from None
    return job


@router.post("/annual/{hospital_id}/{year}", response_model=ReportJobView, status_code=202)
async def start_annual(hospital_id: HospitalId, year: Year, principal: Reader,
                       session: SessionDep, temporal: TemporalDep, settings: SettingsDep,
                       serial: SerialFilter = None) -> ReportJobView:
    """Make the annual operation report of a hospital (or of one of its units) for a year in
    the background: 202 with the job; follow `links.self` until `status` is `done`."""
    return await _start(temporal, settings, session, await in_thread(
        session, report_jobs.new_annual, hospital_id=hospital_id, year=year, serial=serial,
        by=principal.id, now=datetime.now(timezone.utc)))


@router.get("/annual/{hospital_id}/{year}", response_model=ReportJobView)
def latest_annual(hospital_id: HospitalId, year: Year, principal: Reader,
                  session: SessionDep, serial: SerialFilter = None) -> ReportJobView:
    """The newest annual report job of that hospital (or unit) and year: its progress, and
    once done its downloads."""
    if session.get(Hospital, hospital_id) is None:
        raise UnknownRecord(f"no hospital {hospital_id!r}")
    row = report_jobs.latest(session, kind="annual", hospital_id=hospital_id,
                             year=year, serial=serial)
    if row is None:
        raise UnknownRecord(f"no annual report of {hospital_id} for {year} yet: POST "
                            "to this address to make one")
    return report_jobs.view(row)


@router.post("/visits/{case_id}", response_model=ReportJobView, status_code=202)
async def start_visit(case_id: CaseId, principal: Reader, session: SessionDep,
                      temporal: TemporalDep, settings: SettingsDep) -> ReportJobView:
    """Make the report of a maintenance visit (its checklist, calibration values, findings,
    confirmation and timeline) in the background: 202 with the job."""
    return await _start(temporal, settings, session, await in_thread(
        session, report_jobs.new_visit, case_id=case_id, by=principal.id,
        now=datetime.now(timezone.utc)))


@router.get("/visits/{case_id}", response_model=ReportJobView)
def latest_visit(case_id: CaseId, principal: Reader,
                 session: SessionDep) -> ReportJobView:
    """The newest report job of that visit."""
    row = report_jobs.latest(session, kind="visit", case_id=case_id)
    if row is None:
        raise UnknownRecord(f"no report of visit {case_id} yet: POST to this address "
                            "to make one")
    return report_jobs.view(row)


@router.get("/jobs/{job_id}", response_model=ReportJobView)
def get_job(job_id: JobId, principal: Reader, session: SessionDep) -> ReportJobView:
    """A report job: queued, running (parts done of total), done (downloads) or failed (why)."""
    row = session.get(ReportJob, job_id)
    if row is None:
        raise UnknownRecord(f"no report job {job_id!r}")
    return report_jobs.view(row)


@router.get("/jobs/{job_id}/report.{fmt}", response_class=Response, responses={
    200: {"description": "the report", "content": {
        "text/html": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object"}}}}})
def get_job_file(job_id: JobId, fmt: Literal["html", "pdf", "json"], principal: Reader,
                 session: SessionDep) -> Response:
    """The report of a done job as HTML, PDF (Chinese, with charts) or its data (JSON); 409
    while it is still being made."""
    body, name = report_jobs.report_file(session, job_id, fmt)
    return Response(body, media_type=FILES[fmt], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.{fmt}"})
