"""Reading what the reports need from the cases' projections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.kinds import KINDS
from caseflow.store.cases import contract_of
from caseflow.store.models import Case
from caseflow.store.regulatory import KIND as ADVERSE_EVENT
from caseflow.store.regulatory import event_types


def cases_opened(session: Session, start: datetime, end: datetime, *, kind: str | None = None,
                 hospital_id: str | None = None,
                 contracted: bool = False) -> list[dict[str, Any]]:
    """The cases opened in [start, end); `contracted`: only those of kinds whose commitments
    are the contract's (the SLA report: a reportability review is internal work, not counted)."""
    query = select(Case).where(Case.case_id.is_not(None),
                               Case.status.not_in(("opening", "void")),
                               Case.opened_at >= start, Case.opened_at < end)
    if contracted:
        query = query.where(Case.kind.in_([name for name in KINDS
                                           if KINDS[name].contract_commitments]))
    if kind is not None:
        query = query.where(Case.kind == kind)
    if hospital_id is not None:
        query = query.where(Case.hospital_id == hospital_id)
    rows = list(session.scalars(query.order_by(Case.seq)))
    types = event_types(session, [c.case_id for c in rows if c.kind == ADVERSE_EVENT])
    return [{"case_id": c.case_id, "kind": c.kind, "severity": c.severity,
             "hospital_id": c.hospital_id, "opened_at": c.opened_at, "closed_at": c.closed_at,
             "commitments": c.commitments or [], "event_type": types.get(c.case_id or "")}
            for c in rows]


def contracts_of(session: Session, cases: list[dict[str, Any]]) -> dict[str, str | None]:
    """The contract each case's hospital had in force on the day it opened."""
    return {c["case_id"]: contract_of(session, c["hospital_id"], c["opened_at"].date())
            for c in cases}
