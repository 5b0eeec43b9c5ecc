"""Policy migrations in the database: the preview (a row per selected case with what it would
change), then the run's result per case. The migration workflow asks for the next pending cases
and writes each result once; a restart picks up the cases still pending."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseflow.domain import migration as m
from caseflow.domain.errors import InvalidTransition, UnknownRecord
from caseflow.domain.kinds import KINDS
from caseflow.store.models import Case, Equipment, PolicyMigrationCase, PolicyMigrationRow


def open_cases(session: Session, selection: m.Selection) -> list[tuple[Case, str | None]]:
    """The open cases a selection names, oldest first, each with its unit's contract."""
    query = (select(Case, Equipment.contract_code)
             .outerjoin(Equipment, Equipment.serial == Case.equipment_serial)
             .where(Case.case_id.is_not(None), Case.closed_at.is_(None),
                    Case.status != "void", Case.kind.in_(selection.kinds or KINDS.names())))
    if selection.contracts:
        query = query.where(Equipment.contract_code.in_(selection.contracts))
    if selection.hospitals:
        query = query.where(Case.hospital_id.in_(selection.hospitals))
    if selection.case_ids:
        query = query.where(Case.case_id.in_(selection.case_ids))
    return [(case, contract) for case, contract in session.execute(query.order_by(Case.seq))]


def new(session: Session, *, policy_text: str, policy_version: str, in_force_version: str,
        selection: m.Selection, by: str, now: datetime,
        previews: list[tuple[Case, m.CasePreview]]) -> PolicyMigrationRow:
    row = PolicyMigrationRow(
        id=f"PM-{uuid.uuid4().hex[:16]}", status="previewed", policy_text=policy_text,
        policy_version=policy_version, in_force_version=in_force_version,
        selection=selection.model_dump(mode="json"), created_by=by, created_at=now, reason="",
        per_minute=600)
    session.add(row)
    session.flush()
    for case, preview in previews:
        session.add(PolicyMigrationCase(
            migration_id=row.id, case_id=preview.case_id, kind=preview.kind,
            contract_code=preview.contract_code, from_version=preview.from_version,
            seq=case.projection_seq,
            preview={"moves": [x.model_dump(mode="json") for x in preview.moves],
                     "detail": preview.detail},
            left_alone=preview.left_alone,
            result="left_alone" if preview.left_alone else "pending",
            reason=preview.left_alone or ""))
    session.flush()
    return row


def kept_preview(session: Session, **fields: Any) -> m.MigrationView:
    """Keep a preview (`new`'s fields) and answer its view."""
    return view(session, new(session, **fields))


def get(session: Session, migration_id: str, *, lock: bool = False) -> PolicyMigrationRow | None:
    return session.get(PolicyMigrationRow, migration_id, with_for_update=lock)


def known(session: Session, migration_id: str, *, lock: bool = False) -> PolicyMigrationRow:
    row = get(session, migration_id, lock=lock)
    if row is None:
        raise UnknownRecord(f"no policy migration {migration_id}")
    return row


def status(session: Session, migration_id: str, *, result: str | None = None,
           limit: int = 1000) -> m.MigrationView:
    """A migration: its preview, progress and the result of each case (`result`: those)."""
    return view(session, known(session, migration_id), result=result, limit=limit)


def claim(session: Session, migration_id: str, *, reason: str, per_minute: int, by: str,
          in_force_version: str, now: datetime) -> m.MigrationView:
    """Mark a preview running. InvalidTransition if it was applied already, or if the policy
    in force or any of its cases changed since the preview."""
    row = known(session, migration_id, lock=True)
    if row.status != "previewed":
        raise InvalidTransition(f"policy migration {migration_id} is {row.status} already")
    if row.in_force_version != in_force_version:
        raise InvalidTransition(
            f"the policy in force changed since the preview ({row.in_force_version} "
            f"-> {in_force_version}); preview again")
    changed = changed_since_preview(session, migration_id)
    if changed:
        raise InvalidTransition(
            f"cases changed since the preview: {', '.join(changed[:20])}"
            f"{' ...' if len(changed) > 20 else ''}; preview again")
    row.status, row.reason, row.per_minute = "running", reason, per_minute
    row.applied_by, row.applied_at = by, now
    return view(session, row, limit=0)


def release(session: Session, migration_id: str) -> None:
    """Back to previewed: its workflow could not be started."""
    row = get(session, migration_id, lock=True)
    if row is not None and row.status == "running":
        row.status, row.applied_by, row.applied_at = "previewed", None, None


def changed_since_preview(session: Session, migration_id: str) -> list[str]:
    """Cases of the preview that something happened to since (a step, a rung, a close)."""
    query = (select(PolicyMigrationCase.case_id)
             .join(Case, Case.case_id == PolicyMigrationCase.case_id)
             .where(PolicyMigrationCase.migration_id == migration_id,
                    PolicyMigrationCase.result == "pending",
                    Case.projection_seq != PolicyMigrationCase.seq)
             .order_by(PolicyMigrationCase.case_id))
    return list(session.scalars(query))


def next_pending(session: Session, migration_id: str, limit: int) -> list[str]:
    return list(session.scalars(
        select(PolicyMigrationCase.case_id)
        .where(PolicyMigrationCase.migration_id == migration_id,
               PolicyMigrationCase.result == "pending")
        .order_by(PolicyMigrationCase.case_id).limit(limit)))


def case(session: Session, migration_id: str, case_id: str) -> PolicyMigrationCase | None:
    return session.get(PolicyMigrationCase, (migration_id, case_id))


def record(session: Session, migration_id: str, result: m.CaseResult, now: datetime) -> None:
    """A case's result, once: a retried activity does not overwrite the first answer."""
    row = session.get(PolicyMigrationCase, (migration_id, result.case_id), with_for_update=True)
    assert row is not None, (migration_id, result.case_id)
    if row.result == "pending":
        row.result, row.reason, row.done_at = result.result, result.reason, now


def finish(session: Session, migration_id: str, now: datetime) -> None:
    row = session.get(PolicyMigrationRow, migration_id, with_for_update=True)
    assert row is not None, migration_id
    if row.status != "done":
        row.status, row.finished_at = "done", now


def counts(session: Session, migration_id: str) -> dict[str, int]:
    found = dict(session.execute(
        select(PolicyMigrationCase.result, func.count())
        .where(PolicyMigrationCase.migration_id == migration_id)
        .group_by(PolicyMigrationCase.result)).all())
    return {name: found.get(name, 0) for name in ("pending", "migrated", "left_alone", "refused")}


def view(session: Session, row: PolicyMigrationRow, *, result: str | None = None,
         limit: int = 1000) -> m.MigrationView:
    query = select(PolicyMigrationCase).where(PolicyMigrationCase.migration_id == row.id)
    if result is not None:
        query = query.where(PolicyMigrationCase.result == result)
    cases = session.scalars(query.order_by(PolicyMigrationCase.case_id).limit(limit))
    return m.MigrationView(
        migration_id=row.id, status=row.status, policy_version=row.policy_version,  # type: ignore[arg-type]
        in_force_version=row.in_force_version, selection=m.Selection.model_validate(row.selection),
        created_by=row.created_by, created_at=row.created_at, reason=row.reason,
        applied_by=row.applied_by, applied_at=row.applied_at, finished_at=row.finished_at,
        counts=counts(session, row.id),
        cases=[_case_view(c) for c in cases])


def _case_view(row: PolicyMigrationCase) -> m.MigrationCaseView:
    preview: dict[str, Any] = row.preview or {}
    return m.MigrationCaseView(
        case_id=row.case_id, kind=row.kind, contract_code=row.contract_code,
        from_version=row.from_version,
        moves=[m.CommitmentMove.model_validate(x) for x in preview.get("moves", [])],
        left_alone=row.left_alone, detail=preview.get("detail", ""),
        result=row.result, reason=row.reason, done_at=row.done_at)  # type: ignore[arg-type]


def listing(session: Session, limit: int = 50) -> list[PolicyMigrationRow]:
    return list(session.scalars(select(PolicyMigrationRow)
                                .order_by(PolicyMigrationRow.created_at.desc()).limit(limit)))
