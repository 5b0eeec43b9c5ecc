"""What the live feed of the console reads: case events and notifications recorded after a
row id, each with what a reader's scope and a page need (no bilingual summary: the event code
and its data), and a person's notices with the event that caused them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from caseflow.store.models import Case, CaseEventRow, Escalation, Notification


def case_events(session: Session, *, after: int = 0, ids: list[int] | None = None,
                limit: int = 500) -> list[dict[str, Any]]:
    """Case events with id > `after` (or those of `ids`), oldest first, with their case's row
    as it is now (kind, status, hospital, assignee: what a scope and a board need)."""
    query = (select(CaseEventRow, Case).outerjoin(Case, Case.case_id == CaseEventRow.case_id))
    query = query.where(CaseEventRow.id.in_(ids)) if ids is not None \
        else query.where(CaseEventRow.id > after)
    return [case_message(event, row) for event, row in
            session.execute(query.order_by(CaseEventRow.id).limit(limit))]


def case_message(event: CaseEventRow, row: Case | None) -> dict[str, Any]:
    return {"type": "case", "id": event.id, "case_id": event.case_id, "seq": event.seq,
            "event": event.event, "at": event.at.isoformat(),
            "actor": {"id": event.actor_id, "name": event.actor_name, "role": event.actor_role},
            "data": event.data or {},
            "kind": row.kind if row else None, "status": row.status if row else None,
            "severity": row.severity if row else None,
            "hospital_id": row.hospital_id if row else None,
            "assignee_id": row.assignee_id if row else None,
            "breached": bool(row.breached) if row else False}


def notifications(session: Session, *, after: int = 0, ids: list[int] | None = None,
                  person_id: str | None = None, before: int | None = None,
                  limit: int = 500, newest_first: bool = False) -> list[dict[str, Any]]:
    """Notifications with id > `after` (or those of `ids`; or of one person, before a row),
    each with the case event that caused it (its code and data, to word it in any language)."""
    query = select(Notification)
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    else:
        query = query.where(Notification.id > after)
    if person_id is not None:
        query = query.where(Notification.person_id == person_id)
    if before is not None:
        query = query.where(Notification.id < before)
    order = Notification.id.desc() if newest_first else Notification.id
    rows = list(session.scalars(query.order_by(order).limit(limit)))
    causes = _causes(session, rows)
    return [notice_message(row, causes.get(row.id)) for row in rows]


def notice_message(row: Notification, cause: dict[str, Any] | None) -> dict[str, Any]:
    cause = cause or {}
    return {"type": "notice", "id": row.id, "case_id": row.case_id, "person_id": row.person_id,
            "urgent": row.urgent, "created_at": row.created_at.isoformat(),
            "read_at": row.read_at.isoformat() if row.read_at else None,
            "event": cause.get("event"), "data": cause.get("data") or {},
            "template": row.template, "params": row.params or {}, "subject": row.subject}


def _causes(session: Session, rows: list[Notification]) -> dict[int, dict[str, Any]]:
    """The case event behind each notification, read off its dedupe key: `<case>/<seq>/<n>/
    <person>` for a step's notices, `<case>/esc/<commitment>/<round>/<level>/<person>` for a
    rung of the ladder (recorded by activities/records.py)."""
    steps: dict[tuple[str, int], list[int]] = {}
    rungs: dict[tuple[str, str, int, int], list[int]] = {}
    for row in rows:
        parts = row.dedupe_key.split("/")
        if len(parts) >= 6 and parts[1] == "esc" and parts[3].isdigit() and \
                parts[4].lstrip("-").isdigit():
            rungs.setdefault((parts[0], parts[2], int(parts[3]), int(parts[4])), []).append(row.id)
        elif len(parts) >= 3 and parts[1].isdigit():
            steps.setdefault((parts[0], int(parts[1])), []).append(row.id)
    found: dict[int, dict[str, Any]] = {}
    if steps:
        for event in session.scalars(select(CaseEventRow).where(
                tuple_(CaseEventRow.case_id, CaseEventRow.seq).in_(list(steps)))):
            for notice_id in steps.get((event.case_id, event.seq), []):
                found[notice_id] = {"event": event.event, "data": event.data or {}}
    if rungs:
        keys = list(rungs)
        for rung in session.scalars(select(Escalation).where(or_(*(
                and_(Escalation.case_id == c, Escalation.commitment == k, Escalation.round == r,
                     Escalation.level == lv) for c, k, r, lv in keys)))):
            event = "reminder" if rung.level < 0 else "warning" if rung.level == 0 \
                else "escalation"
            for notice_id in rungs.get((rung.case_id, rung.commitment, rung.round, rung.level),
                                       []):
                found[notice_id] = {"event": event, "data": {
                    "commitment": rung.commitment, "round": rung.round, "level": rung.level,
                    "notify": rung.notify, "due_at": rung.due_at.isoformat()
                    if rung.due_at else None}}
    return found


def notified_cases(session: Session, person_id: str) -> set[str]:
    """The cases a person was notified about (they may read them: domain/access.py)."""
    return set(session.scalars(select(Notification.case_id).where(
        Notification.person_id == person_id).distinct()))


def high_water(session: Session) -> tuple[int, int]:
    """The newest case event and notification ids now."""
    return (session.scalar(select(func.max(CaseEventRow.id))) or 0,
            session.scalar(select(func.max(Notification.id))) or 0)
