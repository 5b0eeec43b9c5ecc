"""Looking things up to fill a form: hospitals, units by serial or hospital, and colleagues to
assign or put on call (GET /v1/hospitals, /v1/equipment, /v1/staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep
from caseflow.domain.access import Capability
from caseflow.domain.enums import Role
from caseflow.store.models import Equipment, Hospital, Person

router = APIRouter(prefix="/v1", tags=["directory"])
Looker = Annotated[Principal, allowed(Capability.read_equipment)]
Directory = Annotated[Principal, allowed(Capability.read_directory)]
PLAIN = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL refuses NUL in text)
HospitalFilter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=PLAIN)]


class HospitalPublic(BaseModel):
    id: str
    name: str = Field(description="its own name (in Chinese)")
    name_en: str = Field(default="", description="an English name, if it has one")
    region: str


class UnitPublic(BaseModel):
    serial: str
    hospital_id: str
    hospital_name: str
    modality: str
    brand: str
    model: str
    department: str
    status: str


class StaffMember(BaseModel):
    id: str
    name: str
    role: Role
    hospital_id: str | None


@router.get("/hospitals", response_model=list[HospitalPublic])
def list_hospitals(principal: Directory, session: SessionDep) -> list[HospitalPublic]:
    """The hospitals under contract, by id (an engineer serving one hospital: that one)."""
    query = select(Hospital).order_by(Hospital.id)
    if principal.scope.limited:
        query = query.where(Hospital.id == principal.scope.hospital_id)
    return [HospitalPublic(id=h.id, name=h.name, name_en=h.name_en or "", region=h.region or "")
            for h in session.scalars(query)]


@router.get("/equipment", response_model=list[UnitPublic])
def find_equipment(
    principal: Looker, session: SessionDep,
    hospital_id: HospitalFilter = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=PLAIN, description=(
        "part of the serial, model, brand or department (case-insensitive)"))] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[UnitPublic]:
    """Units of a hospital, or whose serial, model, brand or department contains `q`, by
    serial: the hotline's equipment look-up."""
    query = (select(Equipment, Hospital).join(Hospital, Hospital.id == Equipment.hospital_id)
             .order_by(Equipment.serial).limit(limit))
    if hospital_id:
        query = query.where(Equipment.hospital_id == hospital_id)
    if principal.scope.limited:
        query = query.where(Equipment.hospital_id == principal.scope.hospital_id)
    text = (q or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in (
            Equipment.serial, Equipment.model, Equipment.brand, Equipment.department))))
    return [UnitPublic(serial=u.serial, hospital_id=u.hospital_id, hospital_name=h.name,
                       modality=u.modality, brand=u.brand, model=u.model,
                       department=u.department or "", status=u.status)
            for u, h in session.execute(query)]


@router.get("/staff", response_model=list[StaffMember])
def list_staff(
    principal: Directory, session: SessionDep,
    role: Annotated[list[Role] | None, Query(description="only these roles (repeat)")] = None,
) -> list[StaffMember]:
    """Active people who take cases (no admins or auditors), by id, with the hospital each
    serves (none: every hospital): whom a form may name as the engineer to assign, the owner
    of an action, or the person on call."""
    query = select(Person).where(Person.active.is_not(False),
                                 Person.role.not_in([Role.admin.value, Role.auditor.value,
                                                   Role.monitoring.value]))
    if role:
        query = query.where(Person.role.in_([r.value for r in role]))
    return [StaffMember(id=p.id, name=p.name, role=Role(p.role),
                        hospital_id=p.hospital_id)
            for p in session.scalars(query.order_by(Person.id))]
