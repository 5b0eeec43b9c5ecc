"""Exports for spreadsheets: the cases list as CSV (UTF-8 with a byte-order mark, so Excel
shows Chinese text as it is; no cell can be taken for a formula)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep
from caseflow.domain.access import Capability
from caseflow.domain.search import CaseFilter
from caseflow.domain.spreadsheets import csv_text
from caseflow.store.models import Case
from caseflow.store.search import filtered

router = APIRouter(prefix="/v1/exports", tags=["exports"])
COLUMNS = ("case_id", "kind", "status", "severity", "hospital_id", "equipment_serial",
           "assignee_id", "breached", "title", "opened_at", "closed_at", "policy_version")


@router.get("/cases.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def cases_csv(
    principal: Annotated[Principal, allowed(Capability.read_cases)], session: SessionDep,
    found: Annotated[CaseFilter, Query()],
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """The cases that match the filters (as GET /v1/cases), oldest first, one row each."""
    found.check()
    query = filtered(found, principal.scope, session.get_bind().dialect.name)
    rows = session.scalars(query.order_by(Case.seq).limit(limit))
    text = csv_text(COLUMNS, ([getattr(row, column) for column in COLUMNS] for row in rows))
    return Response(content=("\ufeff" + text).encode("utf-8"), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="cases.csv"'})

