"""Intake from the register: check what a new case references, build its workflow input.

Shared by the API (a case opened by a person) and the activities that open a case from another
one (a complaint from a dissatisfied repair callback, an emergency from a critical repair).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from caseflow.domain.complaint import ComplaintCreate, ComplaintOrigin, ComplaintStart
from caseflow.domain.emergency import EmergencyCreate, EmergencyStart
from caseflow.domain.errors import UnknownReference
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import Actor
from caseflow.store import directory
from caseflow.store.cases import Draft, case_kind, contract_of
from caseflow.store.models import Equipment, Hospital


def unit_at(session: Session, serial: str, hospital_id: str,
            mismatch_field: str = "hospital_id") -> tuple[Equipment, Hospital]:
    """The unit with `serial`, which must be at `hospital_id` (422 naming the field)."""
    found = directory.equipment(session, serial)
    if found is None:
        raise UnknownReference(f"no equipment with serial {serial!r}", field="equipment_serial")
    if found[0].hospital_id != hospital_id:
        raise UnknownReference(f"equipment {serial} belongs to hospital {found[0].hospital_id}",
                               field=mismatch_field)
    return found


def complaint_draft(session: Session, body: ComplaintCreate) -> Draft:
    """Check the hospital, the related case and the unit exist (422 naming the field)."""
    if directory.hospital(session, body.hospital_id) is None:
        raise UnknownReference(f"no hospital {body.hospital_id!r}", field="hospital_id")
    if body.related_case_id is not None and case_kind(session, body.related_case_id) is None:
        raise UnknownReference(f"no case {body.related_case_id!r}", field="related_case_id")
    if body.equipment_serial is not None:
        unit_at(session, body.equipment_serial, body.hospital_id, "equipment_serial")
    return Draft(hospital_id=body.hospital_id, equipment_serial=body.equipment_serial,
                 title=body.matter)


def complaint_start(session: Session, *, case_id: str, body: ComplaintCreate, book: PolicyBook,
                    now: datetime, today: date, opened_by: Actor,
                    origin: ComplaintOrigin | None = None) -> ComplaintStart:
    """The workflow input: the unit (if any), the hospital, the policy of its contract today."""
    where = directory.hospital(session, body.hospital_id)
    if where is None:
        raise UnknownReference(f"no hospital {body.hospital_id!r}", field="hospital_id")
    equipment, contract = None, contract_of(session, body.hospital_id, today)
    if body.equipment_serial is not None:
        found = directory.equipment(session, body.equipment_serial)
        if found is not None:
            equipment = directory.snapshot(*found)
            contract = found[0].contract_code or contract
    return ComplaintStart(case_id=case_id, intake=body, hospital_name=where.name,
                          equipment=equipment, policy=book.pin(contract, now),
                          opened_by=opened_by, origin=origin)


def emergency_draft(session: Session, body: EmergencyCreate) -> Draft:
    """Check the unit belongs to the hospital and the related case exists (422 naming the field)."""
    unit_at(session, body.equipment_serial, body.hospital_id)
    if body.related_case_id is not None and case_kind(session, body.related_case_id) is None:
        raise UnknownReference(f"no case {body.related_case_id!r}", field="related_case_id")
    return Draft(hospital_id=body.hospital_id, equipment_serial=body.equipment_serial,
                 title=body.impact)


def emergency_start(session: Session, *, case_id: str, body: EmergencyCreate, book: PolicyBook,
                    now: datetime, opened_by: Actor) -> EmergencyStart:
    """The workflow input: the unit and the policy of its contract, pinned now."""
    found = unit_at(session, body.equipment_serial, body.hospital_id)
    return EmergencyStart(case_id=case_id, intake=body, equipment=directory.snapshot(*found),
                          policy=book.pin(found[0].contract_code, now), opened_by=opened_by)
