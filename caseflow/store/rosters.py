"""On-call shifts in the database: replacing a period of a roster, and the chain at a moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caseflow.domain.enums import Modality
from caseflow.domain.errors import InvalidPayload, UnknownReference
from caseflow.domain.rosters import ANY_MODALITY, Roster, RosterPut, Shift
from caseflow.store import directory
from caseflow.store.models import Hospital, OnCallShift


def check_scope(session: Session, hospital_id: str, modality: str) -> None:
    """A roster's scope: a hospital we know and a modality (or * for every one)."""
    if directory.hospital(session, hospital_id) is None:
        raise UnknownReference(f"no hospital {hospital_id!r}", field="path.hospital_id")
    if modality != ANY_MODALITY and modality not in {m.value for m in Modality}:
        raise InvalidPayload(f"not a modality; use one of {[m.value for m in Modality]} or *",
                             field="path.modality")


def roster(session: Session, hospital_id: str, modality: str, start: datetime, end: datetime,
           now: datetime) -> Roster:
    """The scope's shifts between `start` and `end` and its chain at `now`."""
    check_scope(session, hospital_id, modality)
    return Roster(
        hospital_id=hospital_id, modality=modality,
        shifts=[_shift(session, r) for r in shifts(
            session, hospital_id=hospital_id, modality=modality, start=start, end=end)],
        on_call_now=[_shift(session, r) for r in chain_at(
            session, hospital_id=hospital_id, modality=modality, at=now)])


def _shift(session: Session, row: OnCallShift) -> Shift:
    person = directory.person(session, row.person_id)
    return Shift(level=row.level, person_id=row.person_id,
                 person_name=person.name if person else row.person_id,
                 starts_at=row.starts_at, ends_at=row.ends_at)


def replace(session: Session, *, hospital_id: str, modality: str, roster: RosterPut,
            by: str) -> None:
    """Replace the scope's shifts in the roster's period, refusing (naming the shift) anyone
    who cannot be on call."""
    check_scope(session, hospital_id, modality)
    # One writer per hospital at a time: two PUTs must not interleave their trims.
    session.execute(select(Hospital.id).where(Hospital.id == hospital_id).with_for_update())
    for index, shift in enumerate(roster.shifts):
        person = directory.person(session, shift.person_id)
        if person is None or not person.active or person.role in ("auditor", "admin"):
            raise UnknownReference(f"no one who can be on call is {shift.person_id!r}",
                                   field=f"shifts.{index}.person_id")
    replace_period(session, hospital_id=hospital_id, modality=modality, roster=roster, by=by)


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
