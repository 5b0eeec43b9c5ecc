"""On-call rosters: GET to read a scope's shifts and who is on call now, PUT to replace a period."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionsDep
from caseflow.domain.access import Capability
from caseflow.domain.cases import Zoned
from caseflow.domain.enums import Modality
from caseflow.domain.errors import InvalidPayload, UnknownReference
from caseflow.domain.rosters import ANY_MODALITY, Roster, RosterPut, Shift, check_roster
from caseflow.store import directory, rosters
from caseflow.store.models import Hospital, OnCallShift

router = APIRouter(prefix="/v1/rosters", tags=["rosters"])
HospitalId = Annotated[str, Path(max_length=64)]
ModalityPath = Annotated[str, Path(max_length=16, description="CT, MR ... or * for every one")]


def _scope(session, hospital_id: str, modality: str) -> None:  # type: ignore[no-untyped-def]
    if directory.hospital(session, hospital_id) is None:
        raise UnknownReference(f"no hospital {hospital_id!r}", field="path.hospital_id")
    if modality != ANY_MODALITY and modality not in {m.value for m in Modality}:
        raise InvalidPayload(f"not a modality; use one of {[m.value for m in Modality]} or *",
                             field="path.modality")


def _shift(session, row: OnCallShift) -> Shift:  # type: ignore[no-untyped-def]
    person = directory.person(session, row.person_id)
    return Shift(level=row.level, person_id=row.person_id,
                 person_name=person.name if person else row.person_id,
                 starts_at=row.starts_at, ends_at=row.ends_at)


def _read(sessions, hospital_id: str, modality: str, start: datetime,  # type: ignore[no-untyped-def]
          end: datetime) -> Roster:
    now = datetime.now(timezone.utc)
    with sessions() as session:
        _scope(session, hospital_id, modality)
        return Roster(
            hospital_id=hospital_id, modality=modality,
            shifts=[_shift(session, r) for r in rosters.shifts(
                session, hospital_id=hospital_id, modality=modality, start=start, end=end)],
            on_call_now=[_shift(session, r) for r in rosters.chain_at(
                session, hospital_id=hospital_id, modality=modality, at=now)])


@router.get("/{hospital_id}/{modality}", response_model=Roster)
async def read_roster(
    hospital_id: HospitalId, modality: ModalityPath,
    principal: Annotated[Principal, allowed(Capability.read_rosters)], sessions: SessionsDep,
    start: Annotated[Zoned | None, Query(alias="from")] = None,
    end: Annotated[Zoned | None, Query(alias="to")] = None,
) -> Roster:
    """The scope's shifts between `from` and `to` (default: the next 7 days) and the chain now."""
    begin = start or datetime.now(timezone.utc)
    return await run_in_threadpool(_read, sessions, hospital_id, modality, begin,
                                   end or begin + timedelta(days=7))


@router.put("/{hospital_id}/{modality}", response_model=Roster)
async def replace_roster(
    hospital_id: HospitalId, modality: ModalityPath, body: RosterPut,
    principal: Annotated[Principal, allowed(Capability.maintain_rosters)], sessions: SessionsDep,
) -> Roster:
    """Replace the scope's shifts in the body's period. Refused (422, naming the shift) when
    shifts overlap on a level, leave a level uncovered (unless allow_gaps), or name someone
    who is not an active person."""
    check_roster(body)

    def write() -> None:
        with sessions.begin() as session:
            _scope(session, hospital_id, modality)
            # One writer per hospital at a time: two PUTs must not interleave their trims.
            session.execute(select(Hospital.id).where(Hospital.id == hospital_id)
                            .with_for_update())
            for index, shift in enumerate(body.shifts):
                person = directory.person(session, shift.person_id)
                if person is None or not person.active or person.role in ("auditor", "admin"):
                    raise UnknownReference(f"no one who can be on call is {shift.person_id!r}",
                                           field=f"shifts.{index}.person_id")
            rosters.replace_period(session, hospital_id=hospital_id, modality=modality,
                                   roster=body, by=principal.id)

    await run_in_threadpool(write)
    return await run_in_threadpool(_read, sessions, hospital_id, modality, body.starts_at,
                                   body.ends_at)
