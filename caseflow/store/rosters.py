"""On-call shifts in the database: replacing a period of a roster, and the chain at a moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caseflow.domain.rosters import ANY_MODALITY, RosterPut
from caseflow.store.models import OnCallShift


def replace_period(session: Session, *, hospital_id: str, modality: str, roster: RosterPut,
                   by: str) -> None:
    """Put `roster` in place of the scope's shifts in its period; shifts reaching over the
    period's edges keep their part outside it."""
    start, end = roster.starts_at, roster.ends_at
    overlapping = session.scalars(select(OnCallShift).where(
        OnCallShift.hospital_id == hospital_id, OnCallShift.modality == modality,
        OnCallShift.starts_at < end, OnCallShift.ends_at > start))
    for old in list(overlapping):
        if old.starts_at < start:
            if old.ends_at > end:
                session.add(OnCallShift(hospital_id=hospital_id, modality=modality,
                                        level=old.level, person_id=old.person_id,
                                        starts_at=end, ends_at=old.ends_at,
                                        updated_by=old.updated_by))
            old.ends_at = start
        elif old.ends_at > end:
            old.starts_at = end
        else:
            session.delete(old)
    for shift in roster.shifts:
        session.add(OnCallShift(hospital_id=hospital_id, modality=modality, level=shift.level,
                                person_id=shift.person_id, starts_at=shift.starts_at,
                                ends_at=shift.ends_at, updated_by=by))


def shifts(session: Session, *, hospital_id: str, modality: str, start: datetime,
           end: datetime) -> list[OnCallShift]:
    return list(session.scalars(select(OnCallShift).where(
        OnCallShift.hospital_id == hospital_id, OnCallShift.modality == modality,
        OnCallShift.starts_at < end, OnCallShift.ends_at > start)
        .order_by(OnCallShift.level, OnCallShift.starts_at)))


def chain_at(session: Session, *, hospital_id: str, modality: str,
             at: datetime) -> list[OnCallShift]:
    """Who is on call at `at`, one shift per level (the modality's own roster first, then the
    hospital's all-modality roster), lowest level first."""
    found = session.scalars(select(OnCallShift).where(
        OnCallShift.hospital_id == hospital_id,
        or_(OnCallShift.modality == modality, OnCallShift.modality == ANY_MODALITY),
        OnCallShift.starts_at <= at, OnCallShift.ends_at > at))
    by_level: dict[int, OnCallShift] = {}
    for shift in sorted(found, key=lambda s: (s.level, s.modality == ANY_MODALITY)):
        by_level.setdefault(shift.level, shift)
    return [by_level[level] for level in sorted(by_level)]
