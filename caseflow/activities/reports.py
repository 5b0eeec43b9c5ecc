"""Activities of the report jobs (workflows/report_job.py): plan the parts, compute each part
(a unit's year, or a visit), render the report to HTML and PDF, record a failure. The same
functions make a report in one process for `caseflow report annual` and `report visit`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from caseflow.documents import render
from caseflow.domain.annual import (
    FAIL_REPORT,
    PLAN_REPORT,
    RENDER_REPORT,
    REPORT_PART,
    UNITS_PER_PART,
    AnnualReport,
    JobFailure,
    JobPlan,
    JobStep,
    UnitYear,
    VisitReportData,
    assemble,
)
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.reliability import empty_note
from caseflow.store import annual, report_jobs
from caseflow.store.models import ReportJob
from caseflow.store.policies import PolicySource

log = structlog.get_logger(__name__)


def annual_keys(session: Session, book: PolicyBook, hospital_id: str,
                serial: str | None) -> list[str]:
    return [u.serial for u in annual.report_units(session, book, hospital_id, serial)]


def unit_part(session: Session, book: PolicyBook, hospital_id: str, serial: str, year: int,
              as_of: datetime) -> dict[str, Any]:
    (unit,) = annual.report_units(session, book, hospital_id, serial)
    return annual.unit_year(session, book, unit, year, as_of).model_dump(mode="json")


def annual_report(session: Session, book: PolicyBook, hospital_id: str, year: int,
                  serial: str | None, as_of: datetime,
                  parts: list[dict[str, Any]]) -> AnnualReport:
    zone = book.defaults.timezone
    lower, upper = annual.year_bounds(year, zone)
    years = [UnitYear.model_validate(p) for p in parts]
    covered = sum(u.tally.covered_seconds for u in years)
    recorded = sum(len(u.repairs) + u.tally.pm_planned for u in years)
    note = ("no unit of this hospital was in service" if not years
            else empty_note(covered, recorded))
    return assemble(hospital_id=hospital_id, hospital_name=annual.hospital_name(session,
                                                                                 hospital_id),
                    year=year, serial=serial, period_from=lower, period_to=upper, as_of=as_of,
                    timezone=zone, units=years,
                    patterns=annual.year_patterns(session, book, hospital_id, serial, year),
                    note=note, ignore=frozenset(
                        c.value for c in book.defaults.reliability.recurring.ignore))


def rendered(kind: str, data: AnnualReport | VisitReportData, zone: str) -> tuple[str, bytes]:
    html = (render.annual_html(data) if isinstance(data, AnnualReport)  # type: ignore[arg-type]
            else render.visit_html(data, zone))
    return html, render.pdf(html)


def make_annual(sessions: sessionmaker[Session], book: PolicyBook, hospital_id: str, year: int,
                serial: str | None, as_of: datetime,
                progress: Callable[[int, int], None] | None = None,
                ) -> tuple[AnnualReport, str, bytes]:
    """The whole annual report in this process, unit after unit (the CLI)."""
    with sessions() as session:
        keys = annual_keys(session, book, hospital_id, serial)
    parts = []
    for index, key in enumerate(keys):
        with sessions() as session:
            parts.append(unit_part(session, book, hospital_id, key, year, as_of))
        if progress:
            progress(index + 1, len(keys))
    with sessions() as session:
        report = annual_report(session, book, hospital_id, year, serial, as_of, parts)
    html, pdf = rendered("annual", report, book.defaults.timezone)
    return report, html, pdf


class ReportJobs:
    def __init__(self, sessions: sessionmaker[Session], policies: PolicySource) -> None:
        self.sessions = sessions
        self.policies = policies

    def _job(self, session: Session, job_id: str) -> ReportJob:
        row = session.get(ReportJob, job_id)
        if row is None:
            raise LookupError(f"no report job {job_id}")
        return row

    @activity.defn(name=PLAN_REPORT)
    def plan_report(self, step: JobStep) -> JobPlan:
        """The parts to compute (units in chunks, or the one visit); the job starts running."""
        book = self.policies.current()
        with self.sessions.begin() as session:
            job = self._job(session, step.job_id)
            if job.kind == "visit":
                keys = [job.case_id or ""]
            else:
                keys = annual_keys(session, book, job.hospital_id or "", job.serial)
            report_jobs.start(session, step.job_id, len(keys), step.as_of,
                              datetime.now(timezone.utc))
        return JobPlan(chunks=[keys[i:i + UNITS_PER_PART]
                               for i in range(0, len(keys), UNITS_PER_PART)])

    @activity.defn(name=REPORT_PART)
    def report_part(self, step: JobStep) -> int:
        """Compute and keep the parts of one chunk, each once; returns the parts done."""
        book = self.policies.current()
        for key in step.keys:
            with self.sessions.begin() as session:
                job = self._job(session, step.job_id)
                if job.kind == "visit":
                    found = annual.visit_data(session, key, step.as_of)
                    data = found.model_dump(mode="json") if found else {}
                else:
                    data = unit_part(session, book, job.hospital_id or "", key,
                                     job.year or 0, step.as_of)
                report_jobs.write_part(session, step.job_id, key, data)
            activity.heartbeat(key)
        with self.sessions() as session:
            return self._job(session, step.job_id).done

    @activity.defn(name=RENDER_REPORT)
    def render_report(self, step: JobStep) -> bool:
        """Assemble the parts, render HTML and PDF, keep them: the job is done."""
        book = self.policies.current()
        zone = book.defaults.timezone
        with self.sessions() as session:
            job = self._job(session, step.job_id)
            parts = report_jobs.parts(session, step.job_id)
            if job.kind == "visit":
                data: AnnualReport | VisitReportData = VisitReportData.model_validate(parts[0])
                empty = False
            else:
                data = annual_report(session, book, job.hospital_id or "", job.year or 0,
                                     job.serial, step.as_of, parts)
                empty = data.empty
        html, pdf = rendered(job.kind, data, zone)
        with self.sessions.begin() as session:
            report_jobs.finish(session, step.job_id, data=data.model_dump(mode="json"),
                               html=html, pdf=pdf, empty=empty, now=datetime.now(timezone.utc))
        log.info("report made", job_id=step.job_id, kind=job.kind, bytes=len(pdf))
        return empty

    @activity.defn(name=FAIL_REPORT)
    def fail_report(self, failure: JobFailure) -> None:
        with self.sessions.begin() as session:
            report_jobs.fail(session, failure.job_id, failure.error, datetime.now(timezone.utc))
