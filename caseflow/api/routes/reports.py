"""Reports for managers and auditors: GET /v1/reports/sla, and the same as CSV."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionDep
from caseflow.domain.access import Capability
from caseflow.domain.cases import IsoDate
from caseflow.domain.errors import InvalidPayload, UnknownRecord
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.regulatory_reports import REGULATORY_COLUMNS, regulatory_table
from caseflow.domain.reports import SLA_COLUMNS, SlaReport, period, sla_report, sla_table
from caseflow.domain.search import KindName
from caseflow.domain.spreadsheets import csv_text
from caseflow.store.models import Hospital
from caseflow.store.reports import cases_opened

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Since = Annotated[IsoDate | None, Query(alias="from", description="first day (local)")]
Until = Annotated[IsoDate | None, Query(alias="to", description="day after the last")]


def _days(policy: PolicyBook, since: date | None, until: date | None) -> tuple[date, date]:
    """[from, to): default the last 30 local days; 422 naming `to` if it is not after `from`."""
    end = until or (datetime.now(ZoneInfo(policy.defaults.timezone)).date() + timedelta(days=1))
    start = since or (end - timedelta(days=30))
    if end <= start:
        raise InvalidPayload("must be after from", field="query.to")
    return start, end


def _report(session: Session, policy: PolicyBook, start: date, end: date, kind: str | None,
            hospital_id: str | None) -> SlaReport:
    lower, upper = period(start, end, policy.defaults.timezone)
    if hospital_id is not None and session.get(Hospital, hospital_id) is None:
        raise UnknownRecord(f"no hospital {hospital_id!r}")
    return sla_report(cases_opened(session, lower, upper, kind=kind, hospital_id=hospital_id,
                                   contracted=True),
                      lower, upper)


@router.get("/sla", response_model=SlaReport)
def sla(
    principal: Annotated[Principal, allowed(Capability.read_reports)],
    session: SessionDep, policy: PolicyDep, since: Since = None, until: Until = None,
    kind: KindName | None = None, hospital_id: str | None = None,
) -> SlaReport:
    """Cases opened in [from, to) (default: the last 30 days), per kind, severity, hospital and
    commitment: cases, met on time %, met late, breached, median and p90 time to meet,
    escalations by level; mean time to restore for repairs. 404 for an unknown hospital."""
    start, end = _days(policy, since, until)
    return _report(session, policy, start, end, kind, hospital_id)


@router.get("/sla.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def sla_csv(
    principal: Annotated[Principal, allowed(Capability.read_reports)],
    session: SessionDep, policy: PolicyDep, since: Since = None, until: Until = None,
    kind: KindName | None = None, hospital_id: str | None = None,
    section: Annotated[Literal["commitments", "regulatory"], Query(
        description="commitments: the report's rows; regulatory: its regulatory section")]
    = "commitments",
) -> Response:
    """The rows of GET /v1/reports/sla (same parameters) for a spreadsheet: one line per kind,
    severity, hospital and commitment, as `caseflow report sla --format csv` writes them (UTF-8
    with a byte-order mark, so Excel shows Chinese text; no cell can be taken for a formula);
    with `section=regulatory`, one line per jurisdiction, event type and report of the
    regulatory section."""
    start, end = _days(policy, since, until)
    report = _report(session, policy, start, end, kind, hospital_id)
    if section == "regulatory":
        text = csv_text(REGULATORY_COLUMNS, regulatory_table(report.regulatory))
    else:
        text = csv_text(SLA_COLUMNS, sla_table(report))
    name = f"sla-{'regulatory-' if section == 'regulatory' else ''}" \
           f"{start.isoformat()}-{end.isoformat()}.csv"
    return Response(content=("\ufeff" + text).encode("utf-8"), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
