"""Report jobs in the database: a row per job with its progress, a row per computed part, and
once done the report's data, HTML and PDF (so any API process can serve them)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseflow.domain.annual import JobProgress, ReportJobView
from caseflow.domain.errors import InvalidTransition, UnknownRecord
from caseflow.store.db import insert_of
from caseflow.store.models import Case, Equipment, Hospital, ReportJob, ReportJobPart


def new_job(session: Session, *, kind: str, by: str, now: datetime,
            hospital_id: str | None = None, year: int | None = None,
            serial: str | None = None, case_id: str | None = None) -> ReportJob:
    row = ReportJob(id=f"RJ-{uuid.uuid4().hex[:20]}", kind=kind, hospital_id=hospital_id,
                    year=year, serial=serial, case_id=case_id, status="queued", total=0,
                    done=0, created_by=by, created_at=now, error="", empty=False)
    session.add(row)
    session.flush()
    return row


def new_annual(session: Session, *, hospital_id: str, year: int, serial: str | None, by: str,
               now: datetime) -> ReportJobView:
    """A queued annual report of a hospital (or of one of its units) for a year."""
    if session.get(Hospital, hospital_id) is None:
        raise UnknownRecord(f"no hospital {hospital_id!r}")
    if serial is not None:
        unit = session.get(Equipment, serial)
        if unit is None or unit.hospital_id != hospital_id:
            raise UnknownRecord(f"no equipment with serial {serial!r} at {hospital_id}")
    return view(new_job(session, kind="annual", by=by, now=now, hospital_id=hospital_id,
                        year=year, serial=serial))


def new_visit(session: Session, *, case_id: str, by: str, now: datetime) -> ReportJobView:
    """A queued report of a maintenance visit."""
    case = session.scalar(select(Case).where(Case.case_id == case_id,
                                             Case.kind == "maintenance"))
    if case is None:
        raise UnknownRecord(f"no maintenance visit {case_id!r}")
    return view(new_job(session, kind="visit", by=by, now=now, case_id=case_id,
                        hospital_id=case.hospital_id))


def forget(session: Session, job_id: str) -> None:
    """Take back a job whose workflow could not be started (nothing half made)."""
    row = session.get(ReportJob, job_id)
    if row is not None:
        session.delete(row)


def report_file(session: Session, job_id: str, fmt: str) -> tuple[bytes, str]:
    """A done job's report as `fmt` (html, pdf, json) and its file name without the
    extension; InvalidTransition while it is still being made."""
    row = session.get(ReportJob, job_id)
    if row is None:
        raise UnknownRecord(f"no report job {job_id!r}")
    if row.status != "done":
        raise InvalidTransition(f"report job {job_id} is {row.status} "
                                f"({row.done} of {row.total} parts): not ready")
    body = {"html": (row.html or "").encode("utf-8"), "pdf": row.pdf or b"",
            "json": json.dumps(row.data, ensure_ascii=False).encode("utf-8")}[fmt]
    name = (f"annual-{row.hospital_id}-{row.year}" + (f"-{row.serial}" if row.serial else "")
            if row.kind == "annual" else f"visit-{row.case_id}")
    return body, name


def latest(session: Session, *, kind: str, hospital_id: str | None = None,
           year: int | None = None, serial: str | None = None,
           case_id: str | None = None) -> ReportJob | None:
    query = select(ReportJob).where(ReportJob.kind == kind)
    for column, value in ((ReportJob.hospital_id, hospital_id), (ReportJob.year, year),
                          (ReportJob.case_id, case_id)):
        if value is not None:
            query = query.where(column == value)
    query = query.where(ReportJob.serial.is_(None) if serial is None
                        else ReportJob.serial == serial)
    return session.scalar(query.order_by(ReportJob.created_at.desc(), ReportJob.id).limit(1))


def view(row: ReportJob) -> ReportJobView:
    base = f"/v1/reports/jobs/{row.id}"
    links = {"self": base}
    if row.status == "done":
        links |= {fmt: f"{base}/report.{fmt}" for fmt in ("html", "pdf", "json")}
    total = max(row.total, 0)
    return ReportJobView(
        job_id=row.id, kind=row.kind, status=row.status, hospital_id=row.hospital_id,
        year=row.year, serial=row.serial, case_id=row.case_id,
        progress=JobProgress(done=row.done, total=total,
                             percent=round(100 * row.done / total, 1) if total else
                             (100.0 if row.status == "done" else 0.0)),
        created_at=row.created_at, created_by=row.created_by, started_at=row.started_at,
        finished_at=row.finished_at, as_of=row.as_of, error=row.error or None,
        empty=row.empty if row.status == "done" else None, links=links)


def start(session: Session, job_id: str, total: int, as_of: datetime, now: datetime) -> None:
    row = session.get(ReportJob, job_id, with_for_update=True)
    assert row is not None, job_id
    row.total, row.as_of = total, as_of
    if row.status == "queued":
        row.status, row.started_at = "running", now


def write_part(session: Session, job_id: str, key: str, data: dict[str, Any]) -> None:
    """The part once (a retried activity writes nothing twice), and the progress after it."""
    insert = insert_of(session)
    session.execute(insert(ReportJobPart).values(job_id=job_id, key=key, data=data)
                    .on_conflict_do_nothing(index_elements=["job_id", "key"]))
    row = session.get(ReportJob, job_id, with_for_update=True)
    assert row is not None, job_id
    row.done = session.scalar(select(func.count()).select_from(ReportJobPart)
                              .where(ReportJobPart.job_id == job_id)) or 0


def parts(session: Session, job_id: str) -> list[dict[str, Any]]:
    return [p.data for p in session.scalars(select(ReportJobPart).where(
        ReportJobPart.job_id == job_id).order_by(ReportJobPart.key))]


def finish(session: Session, job_id: str, *, data: dict[str, Any], html: str, pdf: bytes,
           empty: bool, now: datetime) -> None:
    row = session.get(ReportJob, job_id, with_for_update=True)
    assert row is not None, job_id
    row.data, row.html, row.pdf, row.empty = data, html, pdf, empty
    row.status, row.finished_at, row.error = "done", now, ""
    row.done = row.total


def fail(session: Session, job_id: str, error: str, now: datetime) -> None:
    row = session.get(ReportJob, job_id, with_for_update=True)
    if row is not None and row.status != "done":
        row.status, row.finished_at, row.error = "failed", now, error[:2000]
