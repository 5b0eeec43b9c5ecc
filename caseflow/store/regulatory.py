"""Reading adverse events for the regulatory board and the SLA report's regulatory section:
the open events with their report commitments, and each event's type as last recorded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.store.models import Case, CaseEventRow

KIND = "adverse_event"


def event_types(session: Session, case_ids: Iterable[str]) -> dict[str, str]:
    """Each event's type as its timeline last recorded it: at its opening, or the latest
    classification (a step's data keeps the type it classified the event as)."""
    ids = list(case_ids)
    if not ids:
        return {}
    found: dict[str, str] = {}
    rows = session.execute(select(CaseEventRow.case_id, CaseEventRow.data).where(
        CaseEventRow.case_id.in_(ids), CaseEventRow.event.in_(("opened", "classify")))
        .order_by(CaseEventRow.case_id, CaseEventRow.seq))
    for case_id, data in rows:
        if (data or {}).get("event_type"):
            found[case_id] = str(data["event_type"])
    return found


def open_events(session: Session) -> list[dict[str, Any]]:
    """The adverse events not closed, oldest first, with their commitments and types."""
    rows = list(session.scalars(select(Case).where(
        Case.kind == KIND, Case.case_id.is_not(None), Case.closed_at.is_(None),
        Case.status.not_in(("opening", "void", "closed"))).order_by(Case.seq)))
    types = event_types(session, [r.case_id for r in rows if r.case_id])
    return [{"case_id": r.case_id, "hospital_id": r.hospital_id,
             "equipment_serial": r.equipment_serial, "status": r.status, "title": r.title,
             "assignee_id": r.assignee_id, "opened_at": r.opened_at,
             "event_type": types.get(r.case_id or "", ""), "commitments": r.commitments or []}
            for r in rows]
