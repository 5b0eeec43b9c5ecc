"""Reserving case numbers: one row per (kind, who asked, idempotency key), numbered per kind
and local day without gaps; a number whose workflow surely never started stays on record as
void, with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caseflow.domain.errors import InvalidPayload
from caseflow.domain.kinds import KINDS
from caseflow.domain.text_search import MAX_TEXT, grams, searchable
from caseflow.store.db import insert_of
from caseflow.store.models import Case, CaseNumber, Contract


@dataclass(frozen=True)
class Draft:
    """What a case row needs before its workflow has recorded anything."""

    hospital_id: str
    equipment_serial: str | None
    title: str


def reserve_case(session: Session, *, kind: str, created_by: str, key: str, request_hash: str,
                 draft: Draft, now: datetime, local_day: date,
                 text: str = "") -> tuple[Case, bool]:
    """The case row for this key: the existing one (same request), or a new numbered one.

    The same key with another request is refused: it would silently return someone else's case.
    """
    existing = session.scalar(select(Case).where(
        Case.kind == kind, Case.created_by == created_by, Case.idempotency_key == key))
    if existing is not None:
        if existing.request_hash != request_hash:
            raise InvalidPayload("already used for a different request",
                                 field="header.Idempotency-Key")
        if existing.status == "void":  # the retry of a start that failed: its number again
            existing.status, existing.void_reason, existing.updated_at = "opening", None, now
            return existing, True
        return existing, False
    # The number first, so the row is inserted whole (one statement, not an insert and then an
    # update with its number); a concurrent request with the same key then waits on the
    # counter, and fails on the key's unique index, giving its number back with its rollback.
    number = next_number(session, kind, local_day)
    case_id = f"{KINDS[kind].prefix}-{local_day:%Y%m%d}-{number:06d}"
    words = searchable([case_id, draft.title, text])
    row = Case(case_id=case_id, kind=kind, status="opening", hospital_id=draft.hospital_id,
               equipment_serial=draft.equipment_serial, title=draft.title[:200], opened_at=now,
               updated_at=now, created_by=created_by, idempotency_key=key,
               request_hash=request_hash, search_text=words, search_grams=grams(words))
    session.add(row)
    session.flush()
    return row, True


def add_text(session: Session, case_id: str, values: object) -> None:
    """Make the text of a step (a note, findings, a name) findable on its case."""
    more = searchable([values])
    if not more:
        return
    text = session.scalar(select(Case.search_text).where(Case.case_id == case_id)
                          .with_for_update())
    if text is None or more in text:
        return
    text = f"{text} {more}"[:MAX_TEXT]
    session.execute(update(Case).where(Case.case_id == case_id)
                    .values(search_text=text, search_grams=grams(text))
                    .execution_options(synchronize_session=False))


def next_number(session: Session, kind: str, local_day: date) -> int:
    """The kind's next number of the day: its counter row is created or incremented and locked
    until the transaction ends, so concurrent reservations are numbered one after the other,
    and a reservation rolled back gives its number back."""
    insert = insert_of(session)
    statement = insert(CaseNumber).values(kind=kind, day=f"{local_day:%Y%m%d}", last=1)
    return session.execute(statement.on_conflict_do_update(
        index_elements=["kind", "day"], set_={"last": CaseNumber.last + 1})
        .returning(CaseNumber.last)).scalar_one()


def void_case(session: Session, seq: int, reason: str, now: datetime) -> None:
    """A reservation whose workflow surely never started: its number stays on record, void,
    with the reason (a retry with the same key takes it up again)."""
    row = session.get(Case, seq)
    if row is not None and row.status == "opening":
        row.status, row.void_reason, row.updated_at = "void", reason[:2000], now


def case_kind(session: Session, case_id: str) -> str | None:
    return session.scalar(select(Case.kind).where(Case.case_id == case_id))


def contract_of(session: Session, hospital_id: str, on: date) -> str | None:
    """The hospital's contract in force on a day (the newest, if several)."""
    return session.scalar(select(Contract.code).where(
        Contract.hospital_id == hospital_id, Contract.starts_on <= on, Contract.ends_on >= on)
        .order_by(Contract.starts_on.desc()).limit(1))


def case_status(session: Session, case_id: str) -> str | None:
    """The status the case's row has (None: no such case)."""
    return session.scalar(select(Case.status).where(Case.case_id == case_id))
