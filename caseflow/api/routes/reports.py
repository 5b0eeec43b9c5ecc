"""Reports for managers and auditors: GET /v1/reports/sla."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionsDep
from caseflow.domain.access import Capability
from caseflow.domain.cases import IsoDate
from caseflow.domain.errors import InvalidPayload
from caseflow.domain.reports import SlaReport, period, sla_report
from caseflow.domain.search import KindName
from caseflow.store.reports import cases_opened

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/sla", response_model=SlaReport)
async def sla(
    principal: Annotated[Principal, allowed(Capability.read_reports)],
    sessions: SessionsDep, policy: PolicyDep,
    since: Annotated[IsoDate | None, Query(alias="from", description="first day (local)")] = None,
    until: Annotated[IsoDate | None, Query(alias="to", description="day after the last")] = None,
    kind: KindName | None = None, hospital_id: str | None = None,
) -> SlaReport:
    """Cases opened in [from, to) (default: the last 30 days), per kind, severity, hospital and
    commitment: cases, met on time %, met late, breached, median and p90 time to meet,
    escalations by level; mean time to restore for repairs."""
    zone = policy.defaults.timezone
    end = until or (datetime.now(ZoneInfo(zone)).date() + timedelta(days=1))
    start = since or (end - timedelta(days=30))
    if end <= start:
        raise InvalidPayload("must be after from", field="query.to")
    lower, upper = period(start, end, zone)

    def read() -> SlaReport:
        with sessions() as session:
            found = cases_opened(session, lower, upper, kind=kind, hospital_id=hospital_id)
        return sla_report(found, lower, upper)

    return await run_in_threadpool(read)
