"""On-call rosters: GET to read a scope's shifts and who is on call now, PUT to replace a period."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Path, Query

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep
from caseflow.domain.access import Capability
from caseflow.domain.cases import Zoned
from caseflow.domain.rosters import Roster, RosterPut, check_roster
from caseflow.store import rosters

router = APIRouter(prefix="/v1/rosters", tags=["rosters"])
HospitalId = Annotated[str, Path(max_length=64)]
ModalityPath = Annotated[str, Path(max_length=16, description="CT, MR ... or * for every one")]


@router.get("/{hospital_id}/{modality}", response_model=Roster)
def read_roster(
    hospital_id: HospitalId, modality: ModalityPath,
    principal: Annotated[Principal, allowed(Capability.read_rosters)], session: SessionDep,
    start: Annotated[Zoned | None, Query(alias="from")] = None,
    end: Annotated[Zoned | None, Query(alias="to")] = None,
) -> Roster:
    """The scope's shifts between `from` and `to` (default: the next 7 days) and the chain now."""
    now = datetime.now(timezone.utc)
    begin = start or now
    return rosters.roster(session, hospital_id, modality, begin, end or begin + timedelta(days=7),
                          now)


@router.put("/{hospital_id}/{modality}", response_model=Roster)
def replace_roster(
    hospital_id: HospitalId, modality: ModalityPath, body: RosterPut,
    principal: Annotated[Principal, allowed(Capability.maintain_rosters)], session: SessionDep,
) -> Roster:
    """Replace the scope's shifts in the body's period. Refused (422, naming the shift) when
    shifts overlap on a level, leave a level uncovered (unless allow_gaps), or name someone
    who is not an active person."""
    check_roster(body)
    with session.begin():
        rosters.replace(session, hospital_id=hospital_id, modality=modality, roster=body,
                        by=principal.id)
    return rosters.roster(session, hospital_id, modality, body.starts_at, body.ends_at,
                          datetime.now(timezone.utc))
