"""SLA compliance week by week, for the managers' chart: GET /v1/reports/sla/weekly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionDep
from caseflow.api.routes.directory import PLAIN
from caseflow.domain.access import Capability
from caseflow.domain.reports import WeekCompliance, period, week_of, weekly_compliance
from caseflow.domain.search import KindName
from caseflow.store.reports import cases_opened

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/sla/weekly", response_model=list[WeekCompliance])
def sla_weekly(
    principal: Annotated[Principal, allowed(Capability.read_reports)],
    session: SessionDep, policy: PolicyDep,
    weeks: Annotated[int, Query(ge=1, le=104, description="how many weeks, this one last")] = 12,
    kind: KindName | None = None,
    hospital_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=PLAIN)] = None,
) -> list[WeekCompliance]:
    """For each of the last `weeks` local weeks (Monday to Sunday, oldest first, this week
    last): the cases opened that week and how their commitments were kept, counted as
    GET /v1/reports/sla counts them (met on time % = on time / decided)."""
    zone = policy.defaults.timezone
    this_week = week_of(datetime.now(ZoneInfo(zone)).date())
    mondays = [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    lower, upper = period(mondays[0], this_week + timedelta(days=7), zone)

    found = cases_opened(session, lower, upper, kind=kind, hospital_id=hospital_id)
    return weekly_compliance(found, mondays, zone)
