"""The hash chain of closed cases in the database: append a seal, verify the chain."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseflow.domain.audit import (
    GENESIS,
    ChainCheck,
    RecordParts,
    Seal,
    canonical,
    link_hash,
    sealed_state,
    sealed_timeline,
    sha256,
)
from caseflow.domain.timeline import TimelineEntry
from caseflow.store import timeline
from caseflow.store.models import Attachment, Case, CaseSeal, Notification


def unsealed(session: Session, after: int = 0, limit: int = 50) -> list[Case]:
    """Closed cases with no seal yet, in the order they were opened, after row `after`."""
    sealed = select(CaseSeal.case_id)
    return list(session.scalars(select(Case).where(
        Case.closed_at.is_not(None), Case.case_id.is_not(None), Case.case_id.not_in(sealed),
        Case.seq > after).order_by(Case.seq).limit(limit)))


def pending_notifications(session: Session, case_id: str) -> int:
    """Messages about the case not yet delivered nor given up: its timeline is not final."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.case_id == case_id, Notification.status == "pending")) or 0


def with_pending_notifications(session: Session, case_ids: list[str]) -> set[str]:
    """Those of `case_ids` with a message not yet delivered nor given up (one query)."""
    return set(session.scalars(select(Notification.case_id).distinct().where(
        Notification.case_id.in_(case_ids), Notification.status == "pending")))


def holding_cases(session: Session, case_id: str) -> list[Case]:
    """Open cases whose end the case's workflow waits for: the complaint a repair's
    dissatisfied callback opened (docs/architecture.md "The closed loop")."""
    return list(session.scalars(select(Case).where(
        Case.created_by == f"case:{case_id}", Case.kind == "complaint",
        Case.closed_at.is_(None)).order_by(Case.seq)))


def append(session: Session, *, case: Case, workflow_id: str, run_id: str, history_sha256: str,
           now: datetime, parts: RecordParts | None = None,
           record: dict[str, Any] | None = None) -> Seal | None:
    """Add the case to the end of the chain (once: None if it is sealed already). The chain's
    head is locked, so two sealers append one after the other. With `parts` (scheme 2) the
    link covers the record's fingerprint, and `record` (state and timeline) is kept as
    sealed; without, the history's (scheme 1, kept for tests of old chains)."""
    assert case.case_id is not None and case.closed_at is not None
    if session.scalar(select(CaseSeal.position).where(CaseSeal.case_id == case.case_id)):
        return None
    head = session.scalar(select(CaseSeal).order_by(CaseSeal.position.desc()).limit(1)
                          .with_for_update())
    previous = head.chain_hash if head else GENESIS
    scheme = parts.scheme if parts is not None else 1
    sealed = parts.sha256 if parts is not None else history_sha256
    row = CaseSeal(position=(head.position + 1) if head else 1, case_id=case.case_id,
                   kind=case.kind, workflow_id=workflow_id, run_id=run_id,
                   closed_at=case.closed_at, history_sha256=history_sha256,
                   previous_hash=previous, scheme=scheme,
                   record_sha256=sealed if parts is not None else None,
                   parts=parts.model_dump(mode="json") if parts is not None else None,
                   record=canonical(record).decode("utf-8") if record is not None else None,
                   chain_hash=link_hash(previous, case.case_id, sealed, case.closed_at, scheme),
                   sealed_at=now)
    session.add(row)
    session.flush()
    return _seal(row)


def seal_of(session: Session, case_id: str) -> Seal | None:
    row = session.scalar(select(CaseSeal).where(CaseSeal.case_id == case_id))
    return _seal(row) if row else None


def sealed_record(session: Session, case_id: str) -> dict[str, Any] | None:
    """The state and timeline as sealed (scheme 2), or None."""
    text = session.scalar(select(CaseSeal.record).where(CaseSeal.case_id == case_id))
    return json.loads(text) if text else None


def sealed_export(session: Session, case_id: str
                  ) -> tuple[Seal | None, dict[str, Any] | None, list[TimelineEntry]]:
    """What an export takes from the seal: the seal, the record it sealed (None: not sealed)
    and the seal's entry on the timeline."""
    return (seal_of(session, case_id), sealed_record(session, case_id),
            timeline.entries(session, case_id, ("seal",)))


def attachment_fingerprints(session: Session, case_id: str) -> list[dict[str, str]]:
    """The case's files as the record fingerprints them: id, name and SHA-256, in upload
    order (the bytes are in the database; their hash is what the seal covers)."""
    return [{"id": str(a.id), "name": a.name, "sha256": a.sha256}
            for a in session.scalars(select(Attachment).where(Attachment.case_id == case_id)
                                     .order_by(Attachment.id))]


def _seal(row: CaseSeal) -> Seal:
    return Seal.model_validate(row, from_attributes=True)


def verify_chain(session: Session) -> ChainCheck:
    """Recompute every link from the first: the first one that does not follow is named."""
    previous, count = GENESIS, 0
    for row in session.scalars(select(CaseSeal).order_by(CaseSeal.position)):
        count += 1

        def bad(reason: str, row: CaseSeal = row, at: int = count) -> ChainCheck:
            return ChainCheck(links=at, ok=False, first_bad=at, case_id=row.case_id,
                              reason=reason)

        if row.position != count:
            return bad(f"link {count} is missing (found position {row.position})")
        if row.previous_hash != previous:
            return bad("its previous hash is not the hash of the link before")
        sealed = row.history_sha256
        if row.scheme >= 2:
            problem = _record_problem(row)
            if problem:
                return bad(problem)
            sealed = row.record_sha256 or ""
        expected = link_hash(previous, row.case_id, sealed, row.closed_at, row.scheme)
        if row.chain_hash != expected:
            return bad("its record (case, fingerprint or close time) was altered")
        previous = row.chain_hash
    return ChainCheck(links=count, ok=True)


def _record_problem(row: CaseSeal) -> str | None:
    """Why a scheme-2 link's own fields disagree (its manifest, record and fingerprints)."""
    try:
        parts = RecordParts.model_validate(row.parts)
    except ValidationError:
        return "its manifest of parts is missing or malformed"
    if parts.sha256 != row.record_sha256 or parts.case_id != row.case_id:
        return "its manifest of parts was altered"
    if not parts.histories or parts.histories[-1] != row.history_sha256:
        return "its history fingerprint is not the last run's of its manifest"
    try:
        record = json.loads(row.record or "")
    except ValueError:
        return "its sealed state and timeline are missing"
    if sha256(sealed_state(record.get("state") or {})) != parts.state:
        return "its sealed state was altered"
    if sha256(sealed_timeline(record.get("timeline") or [])) != parts.timeline:
        return "its sealed timeline was altered"
    return None
