"""Intake from the register: check what a new case references, build its workflow input.

Shared by the API (a case opened by a person) and the activities that open a case from another
one (a complaint from a dissatisfied repair callback, an emergency from a critical repair).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.adverse_event import (
    AdverseEventCreate,
    AdverseEventStart,
    EventOrigin,
    UnitRegistration,
)
from caseflow.domain.cases import CODE_VERSION, CaseKind
from caseflow.domain.complaint import ComplaintCreate, ComplaintOrigin, ComplaintStart
from caseflow.domain.emergency import EmergencyCreate, EmergencyStart
from caseflow.domain.errors import InvalidPayload, UnknownReference
from caseflow.domain.installation import InstallationCreate, InstallationStart
from caseflow.domain.kinds import KINDS
from caseflow.domain.maintenance import LinkedRepairRequest, OpenVisit, VisitStart
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import Actor
from caseflow.domain.repair import RepairCreate, RepairStart
from caseflow.domain.text_search import searchable
from caseflow.store import directory
from caseflow.store.cases import Draft, case_kind, contract_of, reserve_case
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


def standard_draft(session: Session, kind: CaseKind, body: Any) -> Draft:
    """Check what an intake references (422 naming the field) and draft its row: its hospital
    (`hospital_id`), its unit (`equipment_serial`: required, it must be at that hospital; or
    optional, then the hospital is checked first), the case it relates to (`related_case_id`)."""
    serial = getattr(body, "equipment_serial", None)
    fields = type(body).model_fields
    unit_required = "equipment_serial" in fields and fields["equipment_serial"].is_required()
    if not unit_required and directory.hospital(session, body.hospital_id) is None:
        raise UnknownReference(f"no hospital {body.hospital_id!r}", field="hospital_id")
    if unit_required:
        unit_at(session, serial, body.hospital_id)
    related = getattr(body, "related_case_id", None)
    if related is not None and case_kind(session, related) is None:
        raise UnknownReference(f"no case {related!r}", field="related_case_id")
    if not unit_required and serial is not None:
        unit_at(session, serial, body.hospital_id, "equipment_serial")
    assert kind.title is not None
    return Draft(hospital_id=body.hospital_id, equipment_serial=serial, title=kind.title(body))


def standard_start(session: Session, kind: CaseKind, *, case_id: str, body: Any,
                   book: PolicyBook, now: datetime, today: date, opened_by: Actor,
                   **extra: Any) -> BaseModel:
    """The workflow input of `kind` (the fields its start model has of these): the intake, the
    unit (a snapshot) and whether it is in warranty, the hospital's name, and the policy of the
    unit's contract pinned now (or of the hospital's contract in force, if the kind says so)."""
    assert kind.start is not None
    wants = kind.start.model_fields
    values: dict[str, Any] = {"case_id": case_id, "intake": body, "opened_by": opened_by}
    contract = None
    serial = getattr(body, "equipment_serial", None)
    found = directory.equipment(session, serial) if serial is not None else None
    if found is not None:
        values["equipment"] = directory.snapshot(*found)
        contract = found[0].contract_code
        if "in_warranty" in wants:
            values["in_warranty"] = directory.in_warranty(found[0], today)
    if "hospital_name" in wants:
        where = directory.hospital(session, body.hospital_id)
        if where is None:
            raise UnknownReference(f"no hospital {body.hospital_id!r}", field="hospital_id")
        values["hospital_name"] = where.name
    if contract is None and kind.contract_of_hospital:
        contract = contract_of(session, body.hospital_id, today)
    values["policy"] = book.pin(contract, now, kind.name)
    return kind.start(**values, **extra, version=CODE_VERSION)


def complaint_start(session: Session, *, case_id: str, body: ComplaintCreate, book: PolicyBook,
                    now: datetime, today: date, opened_by: Actor,
                    origin: ComplaintOrigin | None = None) -> ComplaintStart:
    """A complaint opened by another case (a dissatisfied callback)."""
    start = standard_start(session, KINDS["complaint"], case_id=case_id, body=body, book=book,
                           now=now, today=today, opened_by=opened_by, origin=origin)
    assert isinstance(start, ComplaintStart)
    return start


def emergency_start(session: Session, *, case_id: str, body: EmergencyCreate, book: PolicyBook,
                    now: datetime, opened_by: Actor) -> EmergencyStart:
    """An emergency opened by another case (a repair found critical)."""
    start = standard_start(session, KINDS["emergency"], case_id=case_id, body=body, book=book,
                           now=now, today=now.date(), opened_by=opened_by)
    assert isinstance(start, EmergencyStart)
    return start


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
                             opened_by=opened_by, version=CODE_VERSION)


def visit_start(session: Session, *, case_id: str, request: OpenVisit, book: PolicyBook,
                now: datetime) -> VisitStart:
    unit, hospital = _unit(session, request.serial)
    return VisitStart(case_id=case_id, equipment=directory.snapshot(unit, hospital),
                      due_on=request.due_on, plan_id=request.plan_id,
                      policy=book.pin(unit.contract_code, now, "maintenance"),
                      opened_by=request.opened_by, version=CODE_VERSION)


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
        symptom=f"预防性维护发现(维护工单 {request.visit_case_id}):"
                f"{request.symptom}"[:4000],
        observed_at=request.observed_at, channel="app", severity=request.severity)
    return RepairStart(case_id=case_id, intake=body, equipment=directory.snapshot(unit, hospital),
                       in_warranty=directory.in_warranty(unit, today),
                       policy=book.pin(unit.contract_code, now, "repair"), opened_by=request.reporter,
                       version=CODE_VERSION)


def _unit(session: Session, serial: str) -> tuple[Equipment, Hospital]:
    found = directory.equipment(session, serial)
    if found is None:
        raise UnknownReference(f"no equipment with serial {serial!r}", field="serial")
    return found


def adverse_event_draft(session: Session, body: AdverseEventCreate, *, created_by: str, key: str,
                        now: datetime) -> Draft:
    """The references of an adverse event, as any kind's; its awareness time is not later than
    now."""
    if body.aware_at is not None and body.aware_at > now:
        raise InvalidPayload("must not be in the future", field="aware_at")
    if body.occurred_at is not None and body.occurred_at > now:
        raise InvalidPayload("must not be in the future", field="occurred_at")
    return standard_draft(session, KINDS["adverse_event"], body)


def adverse_event_start(session: Session, *, case_id: str, body: AdverseEventCreate,
                        book: PolicyBook, now: datetime, today: date,
                        opened_by: Actor) -> AdverseEventStart:
    """The event's clocks: the policy's regulatory section (event type and every jurisdiction
    where the unit is registered must be known to it: 422 naming them), the awareness time
    (the intake of the case that recorded it, or the time given, whichever is earlier)."""
    unit, _ = unit_at(session, body.equipment_serial, body.hospital_id)
    regulatory = book.pin(unit.contract_code, now, "adverse_event").regulatory
    assert regulatory is not None
    why = regulatory.unknown_event_type(body.event_type)
    if why is not None:
        raise InvalidPayload(why, field="event_type")
    if not unit.jurisdictions:
        raise InvalidPayload(f"unit {unit.serial} is registered in no jurisdiction; record its "
                             "jurisdictions in the equipment register first",
                             field="equipment_serial")
    for code in unit.jurisdictions:
        why = regulatory.unknown_jurisdiction(code)
        if why is not None:
            raise InvalidPayload(f"unit {unit.serial}: {why}", field="equipment_serial")
    origin = None
    if body.related_case_id is not None:
        row = session.scalars(select(Case).where(Case.case_id == body.related_case_id)).one()
        origin = EventOrigin(case_id=row.case_id, kind=row.kind, opened_at=row.opened_at)
    aware = [t for t in (body.aware_at, origin.opened_at if origin else None) if t is not None]
    start = standard_start(
        session, KINDS["adverse_event"], case_id=case_id, body=body, book=book, now=now,
        today=today, opened_by=opened_by, origin=origin, aware_at=min(aware, default=now),
        registration=UnitRegistration(jurisdictions=list(unit.jurisdictions), udi=unit.udi))
    assert isinstance(start, AdverseEventStart)
    return start


# Kinds whose opening does more than check references (an installation registers its unit):
# (draft, start) with the signatures of `draft_for` and `start_for`.
SPECIAL: dict[str, tuple[Callable[..., Draft], Callable[..., BaseModel]]] = {
    "installation": (installation_draft, installation_start),
    "adverse_event": (adverse_event_draft, adverse_event_start)}


def draft_for(session: Session, kind: CaseKind, body: Any, *, created_by: str, key: str,
              now: datetime) -> Draft:
    """Check a request to open a case of `kind` and draft its row (422 naming the field)."""
    if kind.name in SPECIAL:
        return SPECIAL[kind.name][0](session, body, created_by=created_by, key=key, now=now)
    return standard_draft(session, kind, body)


def start_for(session: Session, kind: CaseKind, *, case_id: str, body: Any, book: PolicyBook,
              now: datetime, today: date, opened_by: Actor) -> BaseModel:
    """The workflow input of a case of `kind` opened over the API."""
    build = SPECIAL[kind.name][1] if kind.name in SPECIAL else partial(standard_start, kind=kind)
    return build(session, case_id=case_id, body=body, book=book, now=now, today=today,
                 opened_by=opened_by)


def reserve(session: Session, kind: CaseKind, body: BaseModel, *, created_by: str, key: str,
            request_hash: str, opened_by: Actor, book: PolicyBook, now: datetime,
            local_day: date) -> tuple[Case, BaseModel, bool]:
    """Open a case of `kind` over the API, the database's part, in the caller's transaction:
    check the intake's references, reserve the numbered row by (kind, created_by, key) and
    build the workflow input with the policy pinned now. (row, input, whether it is new)."""
    row, created = reserve_case(
        session, kind=kind.name, created_by=created_by, key=key, request_hash=request_hash,
        draft=draft_for(session, kind, body, created_by=created_by, key=key, now=now), now=now,
        local_day=local_day, text=searchable([body.model_dump(mode="json")]))
    assert row.case_id is not None
    return row, start_for(session, kind, case_id=row.case_id, body=body, book=book, now=now,
                          today=local_day, opened_by=opened_by), created
