"""The hash chain of closed cases in the database: append a seal, verify the chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.audit import GENESIS, ChainCheck, Seal, link_hash
from caseflow.store.models import Case, CaseSeal


def unsealed(session: Session, after: int = 0, limit: int = 50) -> list[Case]:
    """Closed cases with no seal yet, in the order they were opened, after row `after`."""
    sealed = select(CaseSeal.case_id)
    return list(session.scalars(select(Case).where(
        Case.closed_at.is_not(None), Case.case_id.is_not(None), Case.case_id.not_in(sealed),
        Case.seq > after).order_by(Case.seq).limit(limit)))


def append(session: Session, *, case: Case, workflow_id: str, run_id: str, history_sha256: str,
           now: datetime) -> Seal | None:
    """Add the case to the end of the chain (once: None if it is sealed already). The chain's
    head is locked, so two sealers append one after the other."""
    assert case.case_id is not None and case.closed_at is not None
    if session.scalar(select(CaseSeal.position).where(CaseSeal.case_id == case.case_id)):
        return None
    head = session.scalar(select(CaseSeal).order_by(CaseSeal.position.desc()).limit(1)
                          .with_for_update())
    previous = head.chain_hash if head else GENESIS
    row = CaseSeal(position=(head.position + 1) if head else 1, case_id=case.case_id,
                   kind=case.kind, workflow_id=workflow_id, run_id=run_id,
                   closed_at=case.closed_at, history_sha256=history_sha256,
                   previous_hash=previous,
                   chain_hash=link_hash(previous, case.case_id, history_sha256, case.closed_at),
                   sealed_at=now)
    session.add(row)
    session.flush()
    return Seal.model_validate(row, from_attributes=True)


def seal_of(session: Session, case_id: str) -> Seal | None:
    row = session.scalar(select(CaseSeal).where(CaseSeal.case_id == case_id))
    return Seal.model_validate(row, from_attributes=True) if row else None


def verify_chain(session: Session) -> ChainCheck:
    """Recompute every link from the first: the first one that does not follow is named."""
    previous, count = GENESIS, 0
    for row in session.scalars(select(CaseSeal).order_by(CaseSeal.position)):
        count += 1
        if row.position != count:
            return ChainCheck(links=count, ok=False, first_bad=count, case_id=row.case_id,
                              reason=f"link {count} is missing (found position {row.position})")
        if row.previous_hash != previous:
            return ChainCheck(links=count, ok=False, first_bad=count, case_id=row.case_id,
                              reason="its previous hash is not the hash of the link before")
        expected = link_hash(previous, row.case_id, row.history_sha256, row.closed_at)
        if row.chain_hash != expected:
            return ChainCheck(links=count, ok=False, first_bad=count, case_id=row.case_id,
                              reason="its record (case, fingerprint or close time) was altered")
        previous = row.chain_hash
    return ChainCheck(links=count, ok=True)
