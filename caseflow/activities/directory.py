"""Directory activities: equipment with its warranty, people by role, the on-call chain."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from caseflow.domain.enums import Role
from caseflow.domain.records import ON_CALL_CHAIN, Actor
from caseflow.domain.repair import EquipmentSnapshot
from caseflow.domain.rosters import OnCallLevel, OnCallQuery
from caseflow.store import directory, rosters
from caseflow.store.directory import snapshot

# Who is paged when no roster covers the moment: the chain of DOMAIN.md section 4 above the
# engineer, from the directory.
FALLBACK_CHAIN = (Role.supervisor, Role.manager, Role.director)


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


    @activity.defn(name=ON_CALL_CHAIN)
    def on_call_chain(self, query: OnCallQuery) -> list[OnCallLevel]:
        """The chain at `query.at`, lowest level first: the roster of the unit's modality (or
        of all modalities) for the hospital; with no roster, supervisors, managers, directors."""
        with self.sessions() as session:
            shifts = rosters.chain_at(session, hospital_id=query.hospital_id,
                                      modality=query.modality, at=query.at)
            levels = []
            for shift in shifts:
                person = directory.person(session, shift.person_id)
                if person is not None and person.active:
                    levels.append(OnCallLevel(level=shift.level, source="roster", people=[
                        Actor(id=person.id, name=person.name, role=person.role)]))
            if levels:
                return levels
            for index, role in enumerate(FALLBACK_CHAIN, start=1):
                people = directory.people_with_role(session, role.value, query.hospital_id)
                if people:
                    levels.append(OnCallLevel(level=index, source="directory", people=[
                        Actor(id=p.id, name=p.name, role=p.role) for p in people]))
            return levels
