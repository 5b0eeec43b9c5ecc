"""Intake from the register: check what a new case references, build its workflow input.

Shared by the API (a case opened by a person) and the activities that open a case from another
one (a complaint from a dissatisfied repair callback, an emergency from a critical repair).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.complaint import ComplaintCreate, ComplaintOrigin, ComplaintStart
from caseflow.domain.emergency import EmergencyCreate, EmergencyStart
from caseflow.domain.errors import InvalidPayload, UnknownReference
from caseflow.domain.installation import InstallationCreate, InstallationStart
from caseflow.domain.maintenance import LinkedRepairRequest, OpenVisit, VisitStart
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import Actor
from caseflow.domain.repair import RepairCreate, RepairStart
from caseflow.store import directory
from caseflow.store.cases import Draft, case_kind, contract_of
from caseflow.store.equipment import REORDERABLE, register_installing
from caseflow.store.models import Case, Contract, Equipment, Hospital


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
                          equipment=equipment, policy=book.pin(contract, now, "complaint"),
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
                          policy=book.pin(found[0].contract_code, now, "emergency"), opened_by=opened_by)


def installation_contract(session: Session, body: InstallationCreate, today: date) -> str | None:
    """The order's contract: the one named (it must be the hospital's), else the one in force."""
    if body.contract_code is None:
        return contract_of(session, body.hospital_id, today)
    contract = session.get(Contract, body.contract_code)
    if contract is None or contract.hospital_id != body.hospital_id:
        raise UnknownReference(f"no contract {body.contract_code!r} of hospital "
                               f"{body.hospital_id}", field="contract_code")
    return contract.code


def installation_draft(session: Session, body: InstallationCreate, *, created_by: str,
                       key: str, now: datetime) -> Draft:
    """Check the hospital, the delivery date, and that the serial is new: not registered, or
    left by an order that was cancelled or never started, or this very order retried."""
    if directory.hospital(session, body.hospital_id) is None:
        raise UnknownReference(f"no hospital {body.hospital_id!r}", field="hospital_id")
    unit = session.get(Equipment, body.serial)
    if unit is not None:
        retried = session.scalar(select(Case.seq).where(
            Case.kind == "installation", Case.equipment_serial == body.serial,
            Case.created_by == created_by, Case.idempotency_key == key))
        if retried is not None:
            return _installation_row(body)
        live = session.scalar(select(Case.case_id).where(
            Case.kind == "installation", Case.equipment_serial == body.serial,
            Case.status.not_in(("cancelled", "accepted"))))
        if unit.status not in REORDERABLE or live is not None:
            raise InvalidPayload(f"a unit with serial {body.serial} is registered already "
                                 f"({unit.status}{', order ' + live if live else ''})",
                                 field="serial")
    if body.delivery_due_at <= now:
        raise InvalidPayload("must be in the future", field="delivery_due_at")
    return _installation_row(body)


def _installation_row(body: InstallationCreate) -> Draft:
    return Draft(hospital_id=body.hospital_id, equipment_serial=body.serial,
                 title=f"{body.modality.value} {body.brand} {body.model} {body.serial}")


def installation_start(session: Session, *, case_id: str, body: InstallationCreate,
                       book: PolicyBook, now: datetime, today: date,
                       opened_by: Actor) -> InstallationStart:
    """Register the unit as installing and build the workflow input."""
    where = directory.hospital(session, body.hospital_id)
    if where is None:
        raise UnknownReference(f"no hospital {body.hospital_id!r}", field="hospital_id")
    contract = installation_contract(session, body, today)
    register_installing(session, body, contract, now)
    return InstallationStart(case_id=case_id, intake=body, hospital_name=where.name,
                             contract_code=contract, policy=book.pin(contract, now, "installation"),
                             opened_by=opened_by)


def visit_start(session: Session, *, case_id: str, request: OpenVisit, book: PolicyBook,
                now: datetime) -> VisitStart:
    unit, hospital = _unit(session, request.serial)
    return VisitStart(case_id=case_id, equipment=directory.snapshot(unit, hospital),
                      due_on=request.due_on, plan_id=request.plan_id,
                      policy=book.pin(unit.contract_code, now, "maintenance"), opened_by=request.opened_by)


def linked_repair_start(session: Session, *, case_id: str, request: LinkedRepairRequest,
                        book: PolicyBook, now: datetime, today: date) -> RepairStart:
    """A repair reported by the engineer of a maintenance visit (channel: app)."""
    unit, hospital = _unit(session, request.serial)
    reporter = directory.person(session, request.reporter.id)
    phone = reporter.phone if reporter is not None and reporter.phone else None
    if phone is None:
        raise UnknownReference(f"{request.reporter.name} has no phone number in the directory",
                               field="reporter")
    body = RepairCreate(
        reporter_name=request.reporter.name[:200], reporter_phone=phone,
        hospital_id=unit.hospital_id, department=unit.department or "设备科",
        equipment_serial=unit.serial,
        symptom=f"预防性维护发现 found at maintenance visit {request.visit_case_id}: "
                f"{request.symptom}"[:4000],
        observed_at=request.observed_at, channel="app", severity=request.severity)
    return RepairStart(case_id=case_id, intake=body, equipment=directory.snapshot(unit, hospital),
                       in_warranty=directory.in_warranty(unit, today),
                       policy=book.pin(unit.contract_code, now, "repair"), opened_by=request.reporter)


def _unit(session: Session, serial: str) -> tuple[Equipment, Hospital]:
    found = directory.equipment(session, serial)
    if found is None:
        raise UnknownReference(f"no equipment with serial {serial!r}", field="serial")
    return found
