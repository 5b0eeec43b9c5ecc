"""Directory activities: equipment with its warranty, and people by role, for workflows."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from caseflow.domain.records import Actor
from caseflow.domain.repair import EquipmentSnapshot
from caseflow.store import directory
from caseflow.store.directory import snapshot


class EquipmentLookup(BaseModel):
    serial: str
    on: date


class EquipmentFound(BaseModel):
    equipment: EquipmentSnapshot
    in_warranty: bool


class PeopleLookup(BaseModel):
    role: str
    hospital_id: str | None = None


class Directory:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @activity.defn(name="lookup_equipment")
    def lookup_equipment(self, query: EquipmentLookup) -> EquipmentFound:
        with self.sessions() as session:
            found = directory.equipment(session, query.serial)
            if found is None:
                raise ApplicationError(f"no equipment with serial {query.serial!r}",
                                       type="UnknownReference", non_retryable=True)
            return EquipmentFound(equipment=snapshot(*found),
                                  in_warranty=directory.in_warranty(found[0], query.on))

    @activity.defn(name="find_people")
    def find_people(self, query: PeopleLookup) -> list[Actor]:
        with self.sessions() as session:
            return [Actor(id=p.id, name=p.name, role=p.role)
                    for p in directory.people_with_role(session, query.role, query.hospital_id)]

